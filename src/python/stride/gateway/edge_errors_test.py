import json

from stride.gateway.edge_errors import EDGE_ERRORS, error_body, local_reply_config


def test_each_edge_error_has_a_status_body_in_each_language() -> None:
    for status in EDGE_ERRORS:
        arabic, english = json.loads(error_body(status, "ar")), json.loads(error_body(status, "en"))
        assert arabic["code"] == english["code"] == EDGE_ERRORS[status].code
        assert arabic["message"] != english["message"]
        assert arabic["details"][1] == {
            "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
            "locale": "ar",
            "message": arabic["message"],
        }


def test_arabic_mappers_come_before_the_default_ones() -> None:
    mappers = local_reply_config()["mappers"]
    assert len(mappers) == 2 * len(EDGE_ERRORS)
    first, second = (
        mappers[0]["filter"]["and_filter"]["filters"],
        mappers[1]["filter"]["and_filter"]["filters"],
    )
    assert len(first) == len(second) + 1  # The Arabic one also matches the locale header.


def test_an_oversized_body_becomes_a_400_with_a_violation() -> None:
    mappers = [m for m in local_reply_config()["mappers"] if m.get("status_code") == 400]
    assert len(mappers) == 2  # Arabic and English.
    body = json.loads(error_body(413, "en"))
    assert body["details"][2]["fieldViolations"][0]["field"] == "body"
