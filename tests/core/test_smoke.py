from medcover.rbac import Role
from tests.factories import make_user


def test_admin_signs_in_and_sees_the_user_list(client, login):
    admin = make_user(Role.ADMIN)
    login(admin)
    page = client.get("/admin/users")
    assert page.status_code == 200
    assert admin.email in page.get_data(as_text=True)
