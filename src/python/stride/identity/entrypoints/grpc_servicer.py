"""IdentityService over gRPC: proto → command → use case → proto."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import grpc
from google.api import httpbody_pb2
from google.protobuf import empty_pb2, timestamp_pb2
from google.protobuf.message import Message

from stride.identity import translations  # noqa: F401 - registers Identity's texts.
from stride.identity.adapters.access_tokens import AccessTokenIssuer
from stride.identity.adapters.oidc import OidcVerifier
from stride.identity.adapters.signing_keys import SigningKeys
from stride.identity.domain.model import (
    DEFAULT_TIME_ZONE,
    UPDATABLE_FIELDS,
    User,
    validate_studio_name,
)
from stride.identity.domain.sessions import Session
from stride.identity.entrypoints.app_links import AppLinks
from stride.identity.entrypoints.pages import served
from stride.identity.entrypoints.reset_page import RESET_PAGE_HEADERS, render_reset_page
from stride.identity.entrypoints.resource_names import parse_session_name
from stride.identity.entrypoints.revert_page import REVERT_PAGE_HEADERS, render_revert_page
from stride.identity.entrypoints.verify_page import VERIFY_PAGE_HEADERS, render_verification_page
from stride.identity.service_layer import (
    commands,
    email_change,
    handlers,
    mfa,
    password_reset,
    social,
)
from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.identity.v1 import identity_service_pb2 as pb
from stride.identity.v1 import identity_service_pb2_grpc as pb_grpc
from stride.platform.auth import require_role
from stride.platform.clock import Clock
from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.grpc.client_address import client_address
from stride.platform.grpc.field_masks import updated_fields
from stride.platform.i18n import current_locale
from stride.platform.idempotency import idempotent
from stride.platform.pagination import Page
from stride.platform.resource_names import parse_user_name

SIGN_UP_METHOD = "/stride.identity.v1.IdentityService/SignUp"


def _timestamp(moment: datetime | None) -> timestamp_pb2.Timestamp | None:
    if moment is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def user_to_proto(user: User) -> pb.User:
    return pb.User(
        name=user.resource_name,
        email=user.email,
        display_name=user.display_name,
        language_code=user.language_code,
        time_zone=user.time_zone,
        email_verified=user.email_verified,
        create_time=_timestamp(user.created_at),
        phone_number=user.phone_number,
        roles=[pb.RoleGrant(role=grant.role, studio=grant.studio) for grant in user.roles],
    )


def session_to_proto(session: Session) -> pb.Session:
    return pb.Session(
        name=session.resource_name,
        user_agent=session.user_agent,
        create_time=_timestamp(session.created_at),
        last_use_time=_timestamp(session.last_used_at),
        expire_time=_timestamp(session.expires_at),
        revoke_time=_timestamp(session.revoked_at),
    )


def credentials_to_proto(issued: handlers.IssuedCredentials) -> pb.Credentials:
    return pb.Credentials(
        access_token=issued.access_token,
        token_type="Bearer",  # noqa: S106 - the OAuth token type, not a secret.
        access_token_expire_time=_timestamp(issued.access_token_expires_at),
        refresh_token=issued.refresh_token,
        refresh_token_expire_time=_timestamp(issued.session.expires_at),
        session=issued.session.resource_name,
    )


def sign_in_response(issued: handlers.IssuedCredentials) -> pb.SignInResponse:
    return pb.SignInResponse(
        user=user_to_proto(issued.user),
        credentials=credentials_to_proto(issued),
        device_token=issued.device_token,
    )


def holder_proof(password: str, context: grpc.aio.ServicerContext) -> commands.HolderProof:
    return commands.HolderProof(password=password, client_address=client_address(context))


def user_agent(context: grpc.aio.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "user-agent" and isinstance(value, str):
            return value
    return ""


def profile_changes(request: pb.UpdateUserRequest) -> dict[str, str]:
    return {path: getattr(request.user, path) for path in updated_fields(request, UPDATABLE_FIELDS)}


def _require(request: Message, *fields: str) -> None:
    violations = [
        FieldViolation(field, "field.required") for field in fields if not getattr(request, field)
    ]
    if violations:
        raise InvalidArgument(violations)


def _sign_in_command(
    email: str,
    password: str,
    request: pb.SignInRequest | pb.SignInWithProviderRequest,
    context: grpc.aio.ServicerContext,
) -> commands.SignIn:
    return commands.SignIn(
        email=email,
        password=password,
        studio=validate_studio_name(request.studio, "studio") if request.studio else None,
        client_address=client_address(context),
        user_agent=user_agent(context),
        mfa_code=request.mfa_code,
    )


class IdentityServicer(pb_grpc.IdentityServiceServicer):
    def __init__(
        self,
        unit_of_work: Callable[[], IdentityUnitOfWork],
        signing_keys: SigningKeys,
        issuer: AccessTokenIssuer,
        providers: OidcVerifier,
        clock: Clock,
        app_links: AppLinks,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._signing_keys = signing_keys
        self._issuer = issuer
        self._providers = providers
        self._clock = clock
        self._app_links = app_links

    async def SignUp(  # noqa: N802 - generated gRPC method name.
        self, request: pb.SignUpRequest, context: grpc.aio.ServicerContext
    ) -> pb.SignUpResponse:
        command = commands.SignUp(
            email=request.email,
            password=request.password,
            display_name=request.display_name,
            language_code=request.language_code or current_locale(),
            time_zone=request.time_zone or DEFAULT_TIME_ZONE,
            phone_number=request.phone_number,
        )
        uow = self._unit_of_work()

        async def sign_up() -> pb.SignUpResponse:
            user = await handlers.sign_up(command, uow, self._clock)
            return pb.SignUpResponse(user=user_to_proto(user))

        return await idempotent(
            uow, SIGN_UP_METHOD, request, request.request_id, sign_up, pb.SignUpResponse
        )

    async def GetUser(  # noqa: N802
        self, request: pb.GetUserRequest, context: grpc.aio.ServicerContext
    ) -> pb.User:
        query = commands.GetUser(user_id=parse_user_name(request.name))
        return user_to_proto(await handlers.get_user(query, self._unit_of_work()))

    async def UpdateUser(  # noqa: N802
        self, request: pb.UpdateUserRequest, context: grpc.aio.ServicerContext
    ) -> pb.User:
        command = commands.UpdateProfile(
            user_id=parse_user_name(request.user.name, "user.name"),
            changes=profile_changes(request),
        )
        return user_to_proto(
            await handlers.update_profile(command, self._unit_of_work(), self._clock)
        )

    async def RequestEmailChange(  # noqa: N802
        self, request: pb.RequestEmailChangeRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        _require(request, "new_email", "password")
        command = commands.RequestEmailChange(
            user_id=parse_user_name(request.user, "user"),
            new_email=request.new_email,
            password=request.password,
            client_address=client_address(context),
        )
        await email_change.request_email_change(command, self._unit_of_work(), self._clock)
        return empty_pb2.Empty()

    async def ConfirmEmailChange(  # noqa: N802
        self, request: pb.ConfirmEmailChangeRequest, context: grpc.aio.ServicerContext
    ) -> pb.User:
        _require(request, "token")
        command = commands.ConfirmEmailChange(token=request.token)
        return user_to_proto(
            await email_change.confirm_email_change(command, self._unit_of_work(), self._clock)
        )

    async def RevertEmailChange(  # noqa: N802
        self, request: pb.RevertEmailChangeRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        _require(request, "token")
        command = commands.RevertEmailChange(token=request.token)
        await email_change.revert_email_change(command, self._unit_of_work(), self._clock)
        return empty_pb2.Empty()

    async def OpenEmailChangeRevertLink(  # noqa: N802
        self, request: pb.OpenEmailChangeRevertLinkRequest, context: grpc.aio.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        _require(request, "token")
        user = await email_change.revert_link_user(request.token, self._unit_of_work(), self._clock)
        page = render_revert_page(request.token, user.display_name, user.language_code)
        return await served(page, REVERT_PAGE_HEADERS, context)

    async def ResendEmailVerification(  # noqa: N802
        self, request: pb.ResendEmailVerificationRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        _require(request, "email")
        command = commands.ResendEmailVerification(email=request.email)
        await handlers.resend_email_verification(command, self._unit_of_work(), self._clock)
        return empty_pb2.Empty()

    async def VerifyEmail(  # noqa: N802
        self, request: pb.VerifyEmailRequest, context: grpc.aio.ServicerContext
    ) -> pb.User:
        _require(request, "token", "password")
        command = commands.VerifyEmail(request.token, holder_proof(request.password, context))
        return user_to_proto(
            await handlers.verify_email(command, self._unit_of_work(), self._clock)
        )

    async def OpenEmailVerificationLink(  # noqa: N802
        self, request: pb.OpenEmailVerificationLinkRequest, context: grpc.aio.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        opened = await handlers.look_at_verification_link(request.token, self._unit_of_work())
        page = render_verification_page(request.token, opened, current_locale())
        return await served(page, VERIFY_PAGE_HEADERS, context)

    async def SignIn(  # noqa: N802
        self, request: pb.SignInRequest, context: grpc.aio.ServicerContext
    ) -> pb.SignInResponse:
        _require(request, "email", "password")
        command = replace(
            _sign_in_command(request.email, request.password, request, context),
            device_token=request.device_token,
        )
        issued = await handlers.sign_in(command, self._unit_of_work(), self._issuer, self._clock)
        return sign_in_response(issued)

    async def IssueSignInNonce(  # noqa: N802
        self, request: pb.IssueSignInNonceRequest, context: grpc.aio.ServicerContext
    ) -> pb.IssueSignInNonceResponse:
        issued = social.issue_sign_in_nonce(self._unit_of_work(), self._clock)
        return pb.IssueSignInNonceResponse(
            nonce=issued.nonce, expire_time=_timestamp(issued.expires_at)
        )

    async def SignInWithProvider(  # noqa: N802
        self, request: pb.SignInWithProviderRequest, context: grpc.aio.ServicerContext
    ) -> pb.SignInResponse:
        _require(request, "provider", "id_token", "nonce")
        command = commands.SignInWithProvider(
            provider=request.provider,
            id_token=request.id_token,
            nonce=request.nonce,
            sign_in=_sign_in_command("", "", request, context),
            language_code=current_locale(),
        )
        issued = await social.sign_in_with_provider(
            command, self._unit_of_work(), self._issuer, self._providers, self._clock
        )
        return sign_in_response(issued)

    async def RefreshSession(  # noqa: N802
        self, request: pb.RefreshSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.RefreshSessionResponse:
        _require(request, "refresh_token")
        command = commands.RefreshSession(refresh_token=request.refresh_token)
        issued = await handlers.refresh_session(
            command, self._unit_of_work(), self._issuer, self._clock
        )
        return pb.RefreshSessionResponse(credentials=credentials_to_proto(issued))

    async def SignOut(  # noqa: N802
        self, request: pb.SignOutRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await handlers.sign_out(self._unit_of_work(), self._clock)
        return empty_pb2.Empty()

    async def ListSessions(  # noqa: N802
        self, request: pb.ListSessionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSessionsResponse:
        page = Page.of(request)
        query = commands.ListSessions(
            user_id=parse_user_name(request.parent, "parent"),
            offset=page.offset,
            limit=page.fetch_limit,
            include_inactive=request.show_inactive,
        )
        sessions, next_page_token = page.cut(
            await handlers.list_sessions(query, self._unit_of_work(), self._clock)
        )
        return pb.ListSessionsResponse(
            sessions=[session_to_proto(session) for session in sessions],
            next_page_token=next_page_token,
        )

    async def RevokeSession(  # noqa: N802
        self, request: pb.RevokeSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Session:
        user_id, session_id = parse_session_name(request.name)
        command = commands.RevokeSession(user_id=user_id, session_id=session_id)
        return session_to_proto(
            await handlers.revoke_session(command, self._unit_of_work(), self._clock)
        )

    async def RequestPasswordReset(  # noqa: N802
        self, request: pb.RequestPasswordResetRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        _require(request, "email")
        command = commands.RequestPasswordReset(email=request.email)
        await password_reset.request_password_reset(command, self._unit_of_work())
        return empty_pb2.Empty()

    async def OpenPasswordResetLink(  # noqa: N802
        self, request: pb.OpenPasswordResetLinkRequest, context: grpc.aio.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        _require(request, "token")
        user = await password_reset.reset_link_user(
            request.token, self._unit_of_work(), self._clock
        )
        page = render_reset_page(request.token, user.display_name, user.language_code)
        return await served(page, RESET_PAGE_HEADERS, context)

    async def CompletePasswordReset(  # noqa: N802
        self, request: pb.CompletePasswordResetRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        _require(request, "token", "new_password")
        command = commands.CompletePasswordReset(
            token=request.token, new_password=request.new_password
        )
        await password_reset.complete_password_reset(command, self._unit_of_work(), self._clock)
        return empty_pb2.Empty()

    async def EnrollTotp(  # noqa: N802
        self, request: pb.EnrollTotpRequest, context: grpc.aio.ServicerContext
    ) -> pb.EnrollTotpResponse:
        command = commands.EnrollTotp(
            user_id=parse_user_name(request.user, "user"),
            proof=holder_proof(request.password, context),
        )
        enrolment = await mfa.enroll_totp(command, self._unit_of_work(), self._clock)
        return pb.EnrollTotpResponse(otpauth_uri=enrolment.otpauth_uri, secret=enrolment.secret)

    async def ConfirmTotp(  # noqa: N802
        self, request: pb.ConfirmTotpRequest, context: grpc.aio.ServicerContext
    ) -> pb.ConfirmTotpResponse:
        command = commands.ConfirmTotp(
            user_id=parse_user_name(request.user, "user"),
            code=request.code,
            proof=holder_proof(request.password, context),
        )
        codes = await mfa.confirm_totp(command, self._unit_of_work(), self._clock)
        return pb.ConfirmTotpResponse(recovery_codes=codes)

    async def DisableTotp(  # noqa: N802
        self, request: pb.DisableTotpRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        command = commands.DisableTotp(
            user_id=parse_user_name(request.user, "user"),
            code=request.code,
            proof=holder_proof(request.password, context),
        )
        await mfa.disable_totp(command, self._unit_of_work(), self._clock)
        return empty_pb2.Empty()

    async def GrantRole(  # noqa: N802
        self, request: pb.GrantRoleRequest, context: grpc.aio.ServicerContext
    ) -> pb.User:
        command = self._role_change(request.user, request.grant)
        return user_to_proto(await handlers.grant_role(command, self._unit_of_work(), self._clock))

    async def RevokeRole(  # noqa: N802
        self, request: pb.RevokeRoleRequest, context: grpc.aio.ServicerContext
    ) -> pb.User:
        command = self._role_change(request.user, request.grant)
        return user_to_proto(await handlers.revoke_role(command, self._unit_of_work()))

    async def GetJwks(  # noqa: N802
        self, request: pb.GetJwksRequest, context: grpc.aio.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        document = await self._signing_keys.jwks()
        return httpbody_pb2.HttpBody(
            content_type="application/jwk-set+json", data=json.dumps(document).encode()
        )

    async def GetAppleAppSiteAssociation(  # noqa: N802
        self, request: pb.GetAppleAppSiteAssociationRequest, context: grpc.aio.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        return httpbody_pb2.HttpBody(
            content_type="application/json", data=self._app_links.apple_app_site_association()
        )

    async def GetAssetLinks(  # noqa: N802
        self, request: pb.GetAssetLinksRequest, context: grpc.aio.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        return httpbody_pb2.HttpBody(
            content_type="application/json", data=self._app_links.asset_links()
        )

    async def RotateSigningKey(  # noqa: N802
        self, request: pb.RotateSigningKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.RotateSigningKeyResponse:
        require_role("admin")
        key = await self._signing_keys.rotate()
        return pb.RotateSigningKeyResponse(kid=key.kid, activate_time=_timestamp(key.activates_at))

    @staticmethod
    def _role_change(user_name: str, grant: pb.RoleGrant) -> commands.ChangeRole:
        return commands.ChangeRole(
            user_id=parse_user_name(user_name, "user"), role=grant.role, studio=grant.studio
        )
