"""Thirty staff accounts beside the demo world, so the user list has something to search and page.

Run in the app's environment: ``python -m tests.e2e.people``; prints the accounts as JSON on the last line.
"""

from __future__ import annotations

import json

from medcover.rbac import Role

PASSWORD = "Journey-pass-2026"  # noqa: S105

# (full name, role, institution, company); the Mwangi family is what the search test looks for.
PEOPLE = [
    ("Grace Mwangi", Role.BILLING_CLERK, 1, None),
    ("Peter Mwangi", Role.RECEPTIONIST, 1, None),
    ("Lucy Mwangi", Role.ADJUDICATOR, None, 1),
    ("Daniel Mwangi", Role.FINANCE_OFFICER, None, 2),
    ("Joyce Mwangi-Otieno", Role.RECEPTIONIST, 2, None),
    ("Samuel Otieno", Role.BILLING_CLERK, 2, None),
    ("Amina Hassan", Role.RECEPTIONIST, 1, None),
    ("Brian Kiptoo", Role.ADJUDICATOR, None, 1),
    ("Catherine Njeri", Role.ADJUDICATOR, None, 2),
    ("David Ochieng", Role.FINANCE_OFFICER, None, 1),
    ("Esther Wanjiku", Role.BILLING_CLERK, 1, None),
    ("Francis Mutua", Role.RECEPTIONIST, 2, None),
    ("Gladys Achieng", Role.AUDITOR, None, None),
    ("Hassan Abdi", Role.BILLING_CLERK, 2, None),
    ("Irene Chebet", Role.ADJUDICATOR, None, 1),
    ("James Kamau", Role.FINANCE_OFFICER, None, 2),
    ("Kevin Omondi", Role.RECEPTIONIST, 1, None),
    ("Lilian Atieno", Role.BILLING_CLERK, 1, None),
    ("Moses Kibet", Role.ADJUDICATOR, None, 2),
    ("Nancy Wairimu", Role.RECEPTIONIST, 2, None),
    ("Oscar Maina", Role.ADMIN, 1, None),
    ("Purity Nyambura", Role.BILLING_CLERK, 2, None),
    ("Quentin Barasa", Role.FINANCE_OFFICER, None, 1),
    ("Rose Akinyi", Role.RECEPTIONIST, 1, None),
    ("Stephen Githinji", Role.ADJUDICATOR, None, 1),
    ("Tabitha Moraa", Role.BILLING_CLERK, 1, None),
    ("Victor Langat", Role.RECEPTIONIST, 2, None),
    ("Winnie Jeptoo", Role.AUDITOR, None, None),
    ("Yusuf Ali", Role.ADJUDICATOR, None, 2),
    ("Zawadi Mumbi", Role.FINANCE_OFFICER, None, 2),
]


def email_of(full_name: str) -> str:
    return full_name.lower().replace(" ", ".") + "@hospital.example"


def main() -> None:
    from blueprints.core import services
    from medcover.app import create_app
    from medcover.extensions import db

    # Cheap hashes: these accounts exist to be listed, and argon2's full cost thirty times is slow.
    app = create_app(overrides={"PASSWORD_HASHING": "fast"})
    created = []
    with app.app_context():
        for full_name, role, institution_id, company_id in PEOPLE:
            user = services.create_user(
                actor=None,
                email=email_of(full_name),
                full_name=full_name,
                role=role,
                password=PASSWORD,
                institution_id=institution_id,
                company_id=company_id,
            )
            created.append({"id": user.id, "email": user.email, "full_name": user.full_name, "role": role.value})
        db.session.commit()
    print(json.dumps(created))


if __name__ == "__main__":
    main()
