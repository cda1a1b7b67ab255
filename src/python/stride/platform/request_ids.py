"""AIP-155 request ids as every service accepts them, whether or not it stores them (pure: no
database or protobuf, so domain rules may use it)."""

REQUEST_ID_FIELD = "request_id"
MAX_REQUEST_ID_LENGTH = 128
