"""A multipart upload in a cassette: readable parts, binary content as a digest, re-sent and matched by parts."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from conformance.cassette import load, multipart
from conformance.cassette.exchange import build_interaction
from conformance.cassette.files import CassetteWriter
from conformance.cassette.model import Body, Interaction, Request, Response, body_from_bytes
from conformance.cassette.validation import Invalid, interaction_from_dict
from conformance.redaction import Redactor
from conformance.serve.matching import LiveRequest, recorded_request

PNG = b"\x89PNG\r\n\x1a\n\x00\xff" + bytes(range(256))


def upload(file: bytes = PNG, filename: str = "receipt.png", **fields: str) -> tuple[bytes, str]:
    """A multipart upload as an HTTP client encodes it: a new random boundary each time."""
    request = httpx.Request("POST", "http://x/v1/files", data=fields or {"purpose": "dispute_evidence"},
                            files={"file": (filename, file, "image/png")})
    return request.read(), request.headers["Content-Type"]


def recorded(content: bytes, content_type: str, redactor: Redactor | None = None) -> Interaction:
    return build_interaction(method="POST", url_path="/v1/files", request_headers=[("Content-Type", content_type)],
                             request_content=content, status=200,
                             response_headers=[("Content-Type", "application/json")],
                             response_content=b'{"id": "file_1", "object": "file"}', redactor=redactor or Redactor())


def test_an_upload_is_stored_as_readable_parts_and_the_file_as_its_digest():
    content, content_type = upload()
    body = recorded(content, content_type).request.body
    assert body is not None and body.kind == "multipart"
    assert body.value["parts"] == [
        {"name": "purpose", "text": "dispute_evidence"},
        {"name": "file", "filename": "receipt.png", "content_type": "image/png",
         "sha256": hashlib.sha256(PNG).hexdigest(), "size": len(PNG)},
    ]


def test_text_parts_are_resent_as_recorded_and_a_digest_part_as_as_many_zero_bytes():
    text_only, text_type = upload(file=b"order,amount\n1,2000\n", filename="orders.csv")
    body = body_from_bytes(text_only, text_type)
    assert body is not None and body.kind == "multipart"
    client_boundary = text_type.split("boundary=")[1].encode()
    # what httpx sent, byte for byte, but framed with the fixed boundary the stored Content-Type names
    assert body.to_bytes() == text_only.replace(client_boundary, multipart.BOUNDARY.encode())
    assert multipart.content_type(body.value) == f"multipart/form-data; boundary={multipart.BOUNDARY}"
    content, content_type = upload()
    stored = body_from_bytes(content, content_type)
    assert stored is not None
    resent = body_from_bytes(stored.to_bytes(), multipart.content_type(stored.value))
    assert resent is not None and resent.value["parts"][1]["size"] == len(PNG)
    assert resent.value["parts"][1]["sha256"] == hashlib.sha256(bytes(len(PNG))).hexdigest()


def test_a_cassette_with_an_upload_reads_back_as_it_was_written(tmp_path):
    content, content_type = upload(file=PNG, purpose="identity_document", note="line one\nline two")
    interaction = recorded(content, content_type)
    path = tmp_path / "upload.yaml"
    with CassetteWriter(path, name="upload") as writer:
        writer.append(interaction)
    text = path.read_text()
    assert "multipart:" in text and "filename: receipt.png" in text and "sha256: " in text
    assert "base64" not in text and "PNG" not in text  # the file's bytes stay out of the cassette
    (loaded,) = load(path).interactions
    assert loaded.request.body == interaction.request.body
    assert recorded_request(loaded) == recorded_request(interaction)


def test_the_same_upload_recorded_twice_is_the_same_interaction_whatever_boundary_the_client_drew():
    """stripe-python draws a boundary of random digits; one in ten passes a Luhn check and was once stored as
    ``boundary=[REDACTED:card-number]``, which no server could parse."""
    first, second = recorded(*upload()), recorded(*upload())
    assert first == second
    assert first.request.headers["Content-Type"] == multipart.content_type(first.request.body.value)  # type: ignore[union-attr]
    digits = b"4242424242424242"
    content, content_type = upload()
    content = content.replace(content_type.split("boundary=")[1].encode(), digits)
    stored = recorded(content, f"multipart/form-data; boundary={digits.decode()}")
    assert "REDACTED" not in stored.request.headers["Content-Type"] and stored == first


def test_a_part_holding_the_fixed_boundary_is_framed_with_another():
    value = {"parts": [{"name": "note", "text": f"--{multipart.BOUNDARY}"}]}
    framed = Body("multipart", value).to_bytes()
    content_type = multipart.content_type(value)
    assert content_type.endswith(f"{multipart.BOUNDARY}-1")
    assert multipart.decode(framed, content_type) == value
    assert multipart.framed(value) == (content_type, framed)  # what run sends: header and body framed alike


def test_secrets_in_parts_are_redacted_by_field_name_and_by_pattern():
    content, content_type = upload(filename="sk_test_4eC39HqLyjWDarjtT1zdp7dc.png", **{
        "card[cvc]": "123", "card[number]": "4242424242424242", "description": "key rk_live_abcdefghijklmnop1234"})
    parts = {part["name"]: part for part in recorded(content, content_type).request.body.value["parts"]}  # type: ignore[union-attr]
    assert parts["card[cvc]"]["text"].startswith("[REDACTED:cvc")
    assert parts["card[number]"]["text"].startswith("[REDACTED:card-number")
    assert "rk_live_" not in parts["description"]["text"] and "[REDACTED:rk_live]" in parts["description"]["text"]
    assert "sk_test_4eC" not in parts["file"]["filename"]


def test_a_live_upload_matches_its_recording_whatever_the_boundary_and_not_another_file():
    content, content_type = upload()
    stored = recorded(content, content_type)
    again, again_type = upload()
    assert again_type != content_type
    redactor = Redactor()
    assert LiveRequest.build("POST", "/v1/files", again, again_type, redactor).body == recorded_request(stored).body
    other, other_type = upload(file=PNG[:-1])
    assert LiveRequest.build("POST", "/v1/files", other, other_type, redactor).body != recorded_request(stored).body


def test_an_older_recording_of_an_upload_as_base64_still_matches():
    content, content_type = upload()
    old = Interaction(Request("POST", "/v1/files", {}, {"Content-Type": content_type},
                              Body("base64", __import__("base64").b64encode(content).decode())), Response(200))
    live = LiveRequest.build("POST", "/v1/files", *upload(), Redactor())
    assert live.body == recorded_request(old).body


@pytest.mark.parametrize("content", [
    b"preamble text\r\n--B\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n--B--\r\n",
    b"--B\r\nContent-Disposition: attachment; name=\"f\"\r\n\r\nx\r\n--B--\r\n",
])
def test_a_body_the_parts_would_not_describe_whole_is_kept_as_it_was_sent(content):
    body = body_from_bytes(content, "multipart/form-data; boundary=B")
    assert body is not None and body.kind == "text" and body.to_bytes() == content


@pytest.mark.parametrize(("encoding", "encoded"), [
    ("quoted-printable", b"key sk=5Flive=5F51HbcdEfGhIjKlMnOpQrStUv card 4000=\r\n056655665556"),
    ("base64", __import__("base64").b64encode(b"key sk_live_51HbcdEfGhIjKlMnOpQrStUv card 4000056655665556")),
])
def test_a_part_in_a_transfer_encoding_is_stored_as_its_content_and_redacted(encoding, encoded):
    """A quoted-printable part hid a key behind ``=5F`` and a card number behind a soft line break."""
    content = (b"--B\r\nContent-Disposition: form-data; name=\"note\"\r\nContent-Transfer-Encoding: "
               + encoding.encode() + b"\r\n\r\n" + encoded + b"\r\n--B--\r\n")
    body = recorded(content, "multipart/form-data; boundary=B").request.body
    assert body is not None and body.kind == "multipart"
    (part,) = body.value["parts"]
    assert part["text"] == "key [REDACTED:sk_live] card [REDACTED:card-number]"
    assert b"Transfer-Encoding" not in multipart.encode(body.value)


def _document(parts: object) -> dict:
    return {"request": {"method": "POST", "path": "/v1/files", "multipart": {"parts": parts}},
            "response": {"status": 200}}


@pytest.mark.parametrize(("parts", "problem"), [
    ([{"text": "x"}], "request.multipart.parts.0.name must be text"),
    ([{"name": "f", "text": "x", "sha256": "0" * 64, "size": 1}], "needs exactly one of text, base64 or sha256"),
    ([{"name": "f"}], "needs exactly one of text, base64 or sha256 (has none)"),
    ([{"name": "f", "sha256": "abc", "size": 1}], "sha256 must be 64 lowercase hexadecimal digits"),
    ([{"name": "f", "sha256": "0" * 64}], "request.multipart.parts.0.size must be a number of bytes"),
    ([{"name": "f", "base64": "***"}], "request.multipart.parts.0.base64 is not valid base64"),
    ([{"name": "f", "text": "x", "colour": "red"}], "unknown key request.multipart.parts.0.colour"),
])
def test_a_hand_edited_part_that_cannot_be_sent_is_a_clear_problem(parts, problem):
    with pytest.raises(Invalid) as raised:
        interaction_from_dict(_document(parts), 1)
    assert problem in raised.value.problem


def test_a_part_written_by_hand_as_base64_is_sent_as_those_bytes():
    (part,) = interaction_from_dict(_document([{"name": "file", "filename": "a.png", "base64": "iVBORw0K"}]),
                                    1).request.body.value["parts"]  # type: ignore[union-attr]
    assert multipart.part_content(part) == b"\x89PNG\r\n"


def test_a_multipart_answer_is_served_with_the_boundary_its_stored_body_is_framed_with():
    content, content_type = upload(file=b"plain text", filename="notes.txt")
    stored = build_interaction(method="GET", url_path="/v1/files/file_1/contents", request_headers=[],
                               request_content=b"", status=200, response_headers=[("Content-Type", content_type)],
                               response_content=content, redactor=Redactor())
    body = stored.response.body
    assert body is not None and body.kind == "multipart"
    served_type = stored.response.headers["Content-Type"]
    assert multipart.decode(body.to_bytes(), served_type) == body.value


def test_a_file_name_in_utf8_or_rfc_2231_reads_as_the_client_wrote_it():
    content, content_type = upload(file=b"total,1\n", filename="reçu d'août.csv")
    body = body_from_bytes(content, content_type)
    assert body is not None and body.value["parts"][1]["filename"] == "reçu d'août.csv"
    assert multipart.decode(body.to_bytes(), multipart.content_type(body.value)) == body.value
    extended = (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename*=utf-8''re%C3%A7u.csv\r\n\r\nx\r\n"
                b"--B--\r\n")
    assert multipart.decode(extended, "multipart/form-data; boundary=B") == {
        "parts": [{"name": "file", "filename": "reçu.csv", "text": "x"}]}
