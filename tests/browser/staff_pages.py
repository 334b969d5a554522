"""Page objects for the staff dashboard: what a member of staff sees and does, in their words."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect


class StaffLogin:
    def __init__(self, page: Page, base_url: str) -> None:
        self.page, self.base_url = page, base_url

    def log_in(self, email: str, password: str, path: str = "/staff") -> None:
        self.page.goto(self.base_url + path)
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        expect(self.page.get_by_role("button", name="Log out")).to_be_visible()

    def log_out(self) -> None:
        self.page.get_by_role("button", name="Log out").click()
        expect(self.page.get_by_text("You are logged out.")).to_be_visible()


class ConsultationList:
    def __init__(self, page: Page, base_url: str) -> None:
        self.page, self.base_url = page, base_url

    def open_list(self) -> ConsultationList:
        self.page.get_by_role("link", name="Consultations", exact=True).click()
        expect(self.page.get_by_role("heading", name="Consultations", level=1)).to_be_visible()
        return self

    def search(self, text: str) -> None:
        self.page.get_by_role("searchbox", name="Search").fill(text)
        self.page.get_by_role("button", name="Search", exact=True).click()

    def filter(self, *, outcome: str = "", status: str = "") -> None:
        if outcome:
            self.page.get_by_label("Outcome").select_option(label=outcome)
        if status:
            self.page.get_by_label("Status").select_option(label=status)
        self.page.get_by_role("button", name="Search", exact=True).click()

    @property
    def rows(self) -> Locator:
        return self.page.locator("table.list tbody tr")

    @property
    def count(self) -> Locator:
        return self.page.locator("#result-count")

    def open(self, name: str) -> ConsultationView:
        self.page.get_by_role("link", name=name).first.click()
        return ConsultationView(self.page)

    def export(self, download_dir: Path) -> Path:
        with self.page.expect_download() as info:
            self.page.get_by_role("button", name=re.compile(r"^Export CSV")).click()
        target = download_dir / info.value.suggested_filename
        info.value.save_as(target)
        return target


class ConsultationView:
    def __init__(self, page: Page) -> None:
        self.page = page

    @property
    def client_bubbles(self) -> Locator:
        return self.page.locator("ol.chat li.bubble.client")

    @property
    def assistant_bubbles(self) -> Locator:
        return self.page.locator("ol.chat li.bubble.assistant")

    @property
    def reasons(self) -> Locator:
        return self.page.get_by_role("region", name="Reasons")

    @property
    def outcome(self) -> Locator:
        return self.page.get_by_role("region", name="Outcome")


class ReferralQueue:
    def __init__(self, page: Page) -> None:
        self.page = page

    def open_queue(self) -> ReferralQueue:
        self.page.get_by_role("link", name="Referrals", exact=True).click()
        return self

    def show(self, which: str) -> None:
        self.page.get_by_role("navigation", name="Referral status").get_by_role(
            "link", name=re.compile(f"^{which}")
        ).click()

    def open(self, name: str) -> ReferralPage:
        self.page.get_by_role("link", name=name).first.click()
        return ReferralPage(self.page)


class ReferralPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    @property
    def status(self) -> Locator:
        return self.page.locator("#referral-status")

    @property
    def transcript(self) -> Locator:
        return self.page.locator("ol.chat")

    def claim(self) -> None:
        self.page.get_by_role("button", name="Claim").click()
        expect(self.status).to_have_text("Claimed")

    def mark_contacted(self, note: str = "") -> None:
        self.page.get_by_label("Note on the contact (optional)").fill(note)
        self.page.get_by_role("button", name="Mark as contacted").click()
        expect(self.status).to_have_text("Contacted")

    def close(self, outcome_note: str) -> None:
        self.page.get_by_label("Outcome note (required to close)").fill(outcome_note)
        self.page.get_by_role("button", name="Close referral").click()
        expect(self.status).to_have_text("Closed")

    def hand_back(self) -> None:
        self.page.get_by_role("button", name="Hand back to the assistant").click()
        expect(self.page.get_by_role("status").filter(has_text="Handed back")).to_be_visible()
        expect(self.page.get_by_role("region", name="Conversation")).to_contain_text("answering this client")
