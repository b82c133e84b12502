"""The administrator is IT: an administrator account holds no GMP role and does no GMP work."""

import pytest

from manufacturing.accounts import operations
from manufacturing.accounts.models import UserRole
from manufacturing.core.errors import DomainError
from manufacturing.core.permissions import Role, has_role


@pytest.mark.parametrize("gmp_role", [Role.TECHNICIAN, Role.QA, Role.PHARMACY])
def test_an_administrator_account_cannot_be_created_with_a_gmp_role(database, gmp_role):
    with pytest.raises(DomainError, match=f"cannot be combined with {gmp_role.title}: a person who does both"):
        operations.create_user("it.both", "Doppio Ruolo", [Role.ADMIN, gmp_role])


def test_roles_that_would_mix_it_and_gmp_are_refused_and_unchanged(database, admin, qa_user):
    with pytest.raises(DomainError, match="Administrator role is for IT work only"):
        operations.set_roles(admin, qa_user, [Role.QA, Role.ADMIN], "Covers IT this week")
    database.session.rollback()
    assert qa_user.role_set == {Role.QA}


def test_gmp_roles_combine_among_themselves_and_admin_alone_is_fine(database, admin, qa_user):
    operations.set_roles(admin, qa_user, [Role.QA, Role.PHARMACY], "Trained for pharmacy")
    assert qa_user.role_set == {Role.QA, Role.PHARMACY}
    user, _code = operations.create_user("it.two", "Secondo Amministratore", [Role.ADMIN])
    assert user.role_set == {Role.ADMIN}


def test_an_administrator_granted_a_gmp_role_before_the_rule_still_does_no_gmp_work(database, admin):
    """Accounts from before the rule may hold both: the GMP role then counts for nothing."""
    admin.roles.append(UserRole(role=Role.QA))
    database.session.commit()
    assert admin.role_set == {Role.ADMIN, Role.QA}
    assert admin.has_role(Role.ADMIN) and not has_role(admin, Role.QA)


@pytest.mark.parametrize("name", ["Ada Amministra", "  ada   AMMINISTRA "])
def test_an_administrator_cannot_open_a_gmp_account_in_their_own_printed_name(database, admin, name):
    with pytest.raises(DomainError, match=r"already the printed name of the account admin\.one"):
        operations.create_user("qa.ada", name, [Role.QA])
    database.session.rollback()
    assert operations.find_user("qa.ada") is None


def test_a_rename_cannot_take_the_printed_name_of_another(database, admin, qa_user, technician):
    with pytest.raises(DomainError, match="signatures must name one person"):
        operations.rename(admin, technician, qa_user.full_name, "typo")
