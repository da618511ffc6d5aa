"""Who is writing: Slack users and phone numbers mapped to policy members.

The directory only says *who* a request comes from. Whether that member may
acknowledge or resolve a given exception is the workflow validators' call.
"""

from __future__ import annotations

from escalator.policies.policy_set import PolicySet

__all__ = ["MemberDirectory", "stranger"]


class MemberDirectory:
    def __init__(self, policies: PolicySet) -> None:
        self._slack: dict[str, str] = {}
        self._phone: dict[str, str] = {}
        self._roles: dict[str, list[str]] = {}
        for role in policies.roles:
            for member in role.members:
                if member.slack_user_id:
                    self._slack[member.slack_user_id] = member.name
                if member.phone:
                    self._phone[member.phone] = member.name
                self._roles.setdefault(member.name, []).append(role.name)

    def by_slack_user(self, user_id: str | None) -> str | None:
        return self._slack.get(user_id or "")

    def by_phone(self, phone: str | None) -> str | None:
        return self._phone.get((phone or "").strip())

    def roles_of(self, member: str) -> list[str]:
        return list(self._roles.get(member, []))


def stranger(user: str) -> str:
    """What a Slack user who is no member of any role is told."""
    return (
        f"Your Slack user {user} is not a member of any escalator role; "
        "ask an admin to add your slack_user_id to the policy."
    )
