"""`ledgerbridge setup`: the wizard in a terminal, driven by scripted answers (what a person types at each prompt),
against both simulators; the same services and validation as the console."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from app.cli import build_parser
from app.services import setup
from app.setup_cli import run
from tests.setup.conftest import Fresh

BROWSER = "<the address the browser lands on>"


class Script:
    """Answers by prompt: the first pattern matching a prompt gives its next answer; Enter otherwise. `BROWSER`
    follows the consent address printed last, as a browser would (the simulators consent at once), and answers
    with the address it lands on. `stop_at`: the input ends at that prompt (Ctrl+D)."""

    def __init__(self, fresh: Fresh, answers: dict[str, list[str]], *, stop_at: str | None = None) -> None:
        self.fresh, self.answers, self.stop_at = fresh, answers, stop_at
        self.output: list[str] = []
        self.prompts: list[str] = []

    def say(self, text: str) -> None:
        self.output.append(text)

    async def ask(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if self.stop_at and self.stop_at in prompt:
            raise EOFError
        for pattern, queue in self.answers.items():
            if re.search(pattern, prompt) and queue:
                answer = queue.pop(0)
                if answer == BROWSER:
                    consent = re.findall(r"^  (http\S+)$", self.text(), re.M)[-1]
                    return str((await self.fresh.http.get(consent)).headers["location"])
                return answer
        return ""

    def text(self) -> str:
        return "\n".join(self.output)


def _answers() -> dict[str, list[str]]:
    start = (datetime.now(UTC).date() - timedelta(days=60)).isoformat()
    return {
        r"^Address": [BROWSER, BROWSER],
        r"^Division": ["9", "", "1"],  # not listed; nothing (never taken silently); the first
        r"Run customers_to_exact": ["n"],
        r"^  document": ["nonsense", "sales_order"],  # refused by the config validation, then asked again
        r"^Default debtor": ["NO-SUCH-ACCOUNT", ""],
        r"^Start date": ["tomorrow", start],
        r"^Enable from": ["y"],
    }


async def test_a_person_sets_up_a_fresh_installation_in_the_terminal(fresh: Fresh) -> None:
    script = Script(fresh, _answers())
    code = await run(fresh.settings, script.ask, script.say, http=fresh.http)
    text = script.text()
    assert code == 0, text
    assert re.search(r"1\) 1234567 - Demo BV \(NL\) - last opened in Exact", text)
    assert "Not one of the 2 listed" in text and "nothing is taken without asking" in text
    assert "Not saved: orders > document" in text  # the config validation's words, then asked again
    assert "Unmapped: PostNL Pakket (PNP), DHL Parcel (DHLP), Afhalen (PICK)" in text
    assert "Not saved: default_debtor: Exact has no account with code 'NO-SUCH-ACCOUNT'" in text
    assert "Not a date" in text
    assert re.search(r"\d+ orders dated from .*: \d+ to transfer, 0 already in Exact", text)
    assert "would send to Exact" in text or "cannot be previewed" in text or "would be refused" in text
    assert text.endswith("The setup is finished.")

    engine = await fresh.engine()
    state = await setup.load_state(engine)
    assert state is not None and state.finished
    assert engine.scope.link.division == 1234567 and not engine.scope.link.paused
    assert not (await engine.configs.get("customers_to_exact")).config.enabled
    assert (await engine.configs.get("orders")).options.document == "sales_order"


async def test_a_setup_stopped_half_way_resumes_where_it_was_left(fresh: Fresh) -> None:
    first = Script(fresh, _answers(), stop_at="Run orders")
    assert await run(fresh.settings, first.ask, first.say, http=fresh.http) == 1
    assert "run `ledgerbridge setup` again to go on" in first.text()
    second = Script(fresh, {k: v for k, v in _answers().items() if k not in (r"^Address", r"^Division")})
    assert await run(fresh.settings, second.ask, second.say, http=fresh.http) == 0, second.text()
    assert "Resuming at: Choose the flows" in second.text()
    assert not any(p.startswith(("Address", "Division")) for p in second.prompts)  # steps 1 and 2 kept


def test_the_command_is_there() -> None:
    args = build_parser().parse_args(["setup", "--link", "shop-nl"])
    assert args.command == "setup" and args.link == "shop-nl"
