"""Insurance JSON endpoints: insurance companies and the benefit catalogue."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from blueprints.insurance import api_bp, services
from blueprints.insurance.services.companies import COMPANY_CODE_LENGTH
from blueprints.insurance.web.api import ID, PAGING, READERS, TAG, Code, Name
from medcover.api import (
    Id,
    Out,
    Schema,
    actor,
    created,
    documented,
    int_arg,
    jsonify_model,
    page_model,
    page_response,
    parse,
    tenant,
)
from medcover.rbac import ALL_ROLES, Role, allow


class CompanyIn(Schema):
    code: Annotated[Code, Field(max_length=COMPANY_CODE_LENGTH)]
    name: Name
    #: how member numbers left blank at enrolment are made, with {code} and {seq}; null: "{code}-{seq:06d}"
    member_number_pattern: Annotated[str, Field(max_length=60)] | None = None


class CategoryIn(Schema):
    code: Code
    name: Name


class BenefitIn(Schema):
    code: Code
    name: Name
    category_id: Id


class CompanyOut(Out):
    id: int
    code: str
    name: str
    active: bool


class CategoryOut(Out):
    id: int
    code: str
    name: str


class BenefitOut(Out):
    id: int
    code: str
    name: str
    category_id: int


CompanyPage = page_model(CompanyOut)
CategoryPage = page_model(CategoryOut)
BenefitPage = page_model(BenefitOut)


@api_bp.post("/companies")
@allow(Role.ADMIN)
@documented(
    "Add an insurance company (platform administrators only)",
    tag=TAG,
    body=CompanyIn,
    responses={201: CompanyOut, 409: None},
)
def create_company():
    data = parse(CompanyIn)
    return created(CompanyOut.model_validate(services.create_company(actor=actor(), **data.model_dump())))


@api_bp.get("/companies")
@allow(READERS)
@documented("Insurance companies (insurer staff: their own)", tag=TAG, responses={200: CompanyPage}, query=PAGING)
def list_companies():
    return page_response(services.companies_query(tenant()), CompanyOut, CompanyPage)


@api_bp.get(f"/companies/<{ID}:company_id>")
@allow(READERS)
@documented("One insurance company", tag=TAG, responses={200: CompanyOut, 404: None})
def get_company(company_id: int):
    return jsonify_model(CompanyOut.model_validate(services.get_company(tenant(), company_id)))


@api_bp.post("/benefit-categories")
@allow(Role.ADMIN)
@documented(
    "Add a benefit category (platform administrators only)",
    tag=TAG,
    body=CategoryIn,
    responses={201: CategoryOut, 409: None},
)
def create_category():
    data = parse(CategoryIn)
    return created(CategoryOut.model_validate(services.create_category(actor=actor(), **data.model_dump())))


@api_bp.get("/benefit-categories")
@allow(ALL_ROLES)
@documented("The benefit categories", tag=TAG, responses={200: CategoryPage}, query=PAGING)
def list_categories():
    return page_response(services.categories_query(), CategoryOut, CategoryPage)


@api_bp.post("/benefits")
@allow(Role.ADMIN)
@documented(
    "Add a benefit to the catalogue (platform administrators only)",
    tag=TAG,
    body=BenefitIn,
    responses={201: BenefitOut, 409: None},
)
def create_benefit():
    data = parse(BenefitIn)
    return created(BenefitOut.model_validate(services.create_benefit(actor=actor(), **data.model_dump())))


@api_bp.get("/benefits")
@allow(ALL_ROLES)
@documented(
    "The benefit catalogue",
    tag=TAG,
    responses={200: BenefitPage},
    query={"category_id": "one category", **PAGING},
)
def list_benefits():
    return page_response(services.benefits_query(int_arg("category_id")), BenefitOut, BenefitPage)
