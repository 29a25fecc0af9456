"""The document names each request body and answer by the model that validates or makes it, even where two
domains give their models the same class name (a premium rate's RateIn and a commission rate's RateIn)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from blueprints.hospital.web.records_api import MedicalRecordIn
from medcover.api import PREFIX
from medcover.openapi import build_spec


def _component(spec: dict, ref: dict) -> dict:
    return spec["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]


def test_every_body_and_answer_in_the_document_is_its_own_models(app):
    spec = build_spec(app)
    checked = 0
    for rule in app.url_map.iter_rules():
        doc = getattr(app.view_functions[rule.endpoint], "doc", None)
        if not rule.rule.startswith(PREFIX) or doc is None:
            continue
        path = spec["paths"][_path(rule.rule)]
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            operation = path[method.lower()]
            if doc.body is not None:
                stated = _component(spec, operation["requestBody"]["content"]["application/json"]["schema"])
                assert set(stated["properties"]) == set(doc.body.model_fields), (method, rule.rule)
                checked += 1
            for status, model in (doc.responses or {}).items():
                if model is not None and set(model.model_fields):
                    stated = _component(
                        spec, operation["responses"][str(status)]["content"]["application/json"]["schema"]
                    )
                    fields = {f.alias or n for n, f in model.model_fields.items()} | set(model.model_computed_fields)
                    assert set(stated["properties"]) == fields, (
                        method,
                        rule.rule,
                        status,
                    )
                    checked += 1
    assert checked > 100


def test_a_commission_rate_and_a_premium_rate_are_documented_apart(app):
    spec = build_spec(app)
    commission = spec["paths"]["/commission-rates"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    premium = spec["paths"]["/premium-rates"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "rate_percent" in _component(spec, commission)["properties"]
    assert "age_from" in _component(spec, premium)["properties"]


def _path(rule: str) -> str:
    import re

    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule[len(PREFIX) :]) or "/"


def test_the_reference_page_lists_every_body_including_uploads(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="api_hospital_upload_medical_record_attachment_post"' in text
    upload = text.split('id="api_hospital_upload_medical_record_attachment_post"', 1)[-1].split("</article>", 1)[0]
    assert "<code>file</code>" in upload


def test_a_create_links_to_the_reads_and_actions_that_take_its_id_whatever_the_parameter_is_called(app):
    links = {
        path: operations["post"]["responses"]["201"].get("links", {})
        for path, operations in build_spec(app)["paths"].items()
        if "201" in operations.get("post", {}).get("responses", {})
    }
    assert links["/members"]["api_insurance_get_member_get"]["parameters"] == {"member_id": "$response.body#/id"}
    revoke = links["/oauth/clients"]["api_core_oauth_client_revoke_post"]
    assert revoke["parameters"] == {"client_pk": "$response.body#/id"}


def test_a_record_created_under_another_links_to_where_it_is_read(app):
    """An attachment added to a dispute is downloaded at /disputes/attachments/{attachment_id}, a payment's
    reversal is a payment: their creates link there, and none of them leaks an x- hint into the document."""
    paths = build_spec(app)["paths"]
    links = {
        path: paths[path]["post"]["responses"]["201"]
        for path in paths
        if "201" in paths[path].get("post", {}).get("responses", {})
    }
    attachment = links["/disputes/{dispute_id}/attachments"]["links"]
    assert attachment["api_claims_download_dispute_attachment_get"]["parameters"] == {
        "attachment_id": "$response.body#/id"
    }
    record_file = links["/medical-records/record/{record_id}/attachments"]["links"]
    assert [link["parameters"] for link in record_file.values()] == [{"attachment_id": "$response.body#/id"}]
    reversal = links["/payments/{payment_id}/reverse"]["links"]
    assert reversal["api_payment_get_payment_get"]["parameters"] == {"payment_id": "$response.body#/id"}
    assert not [path for path, created in links.items() if "x-read-at" in created]


def test_a_platform_admin_names_the_organisation_a_staff_member_leaves_out(app):
    schemas = build_spec(app)["components"]["schemas"]
    assert schemas["PersonnelIn"]["x-platform-admin"]["required"] == ["institution_id"]
    assert schemas["SettlementIn"]["x-platform-admin"]["required"] == ["company_id"]
    assert [o["required"] for o in schemas["SubscriptionIn"]["x-platform-admin"]["oneOf"]] == [
        ["institution_id"],
        ["company_id"],
    ]


def test_a_text_is_as_long_as_the_document_says_before_its_blanks_are_trimmed(app):
    """make fuzz sent a diagnosis of 41 characters, mostly blanks, where the document says 40: it was trimmed and
    taken. The length the document states is the sent text's; blanks around a text within it are still dropped."""
    stated = build_spec(app)["components"]["schemas"]["MedicalRecordIn"]["properties"]["diagnoses"]["items"]
    body = {"patient_id": 1, "encounter_date": "2026-01-05"}
    padded = " A00" + " " * (stated["maxLength"] - 3)
    with pytest.raises(ValidationError) as refused:
        MedicalRecordIn.model_validate({**body, "diagnoses": [padded]})
    assert refused.value.errors()[0]["type"] == "string_too_long"
    assert MedicalRecordIn.model_validate({**body, "diagnoses": [" a00 "]}).diagnoses == ["a00"]
