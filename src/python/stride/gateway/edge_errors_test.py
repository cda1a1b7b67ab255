import json

from stride.gateway.edge_errors import EDGE_ERRORS, error_body, local_reply_config


def test_each_edge_error_has_a_status_body_in_each_language() -> None:
    for status in EDGE_ERRORS:
        arabic, english = json.loads(error_body(status, "ar")), json.loads(error_body(status, "en"))
        assert arabic["code"] == english["code"] == EDGE_ERRORS[status][0]
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
