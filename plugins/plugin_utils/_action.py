# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base of the collection's host action plugins: validate -> probe -> plan -> apply -> wait -> verify -> report.

A module subclasses EcsAction, sets DOCUMENTATION (imported from its stub) and either

- implements `plan(params, facts)` (a pure function returning a _plan.Plan, raising _plan.Refusal to refuse),
  optionally `probe_args(params)` and `report(params, facts, plan, applied)`, and gets check mode, diff, honest
  `changed`, the controller-owned waits and verification from `converge`; or
- overrides `execute(params, runner)` (read-only modules such as instance_info).

The controller owns every long wait (docs/dev/op-contract.md "Waits"): a registration is waited for in short rounds
with a progress line each; a `retryable` Initialize-ECSAgent failure is retried after a backoff; ECSTools' own reboot
task (`busy`) and another run's host lock (`locked`) are waited out; each then re-probes and plans again.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import math
import secrets
import time
from typing import Any

from ansible.module_utils.basic import remove_values
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _args, _contract, _findings, _host, _runner
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._plan import EcsError, Plan, Refusal

display = Display()

# A follow-up pass plans again on the verifying probe (a rule found dead once the agent answers, say).
MAX_PASSES = 3
# Rounds of the controller's waits, each one WinRM command ending in a probe.
REGISTRATION_ROUND_S = 10
ECSTOOLS_ROUND_S = 10
ECSTOOLS_WAIT_S = 300
LOCK_ROUND_S = 30
# A planned batch does not wait on the host for another run's lock: its plan was made on facts from before that run
# changed the host. The controller waits instead (_wait_lock), with probes that hold the lock, and plans again.
APPLY_LOCK_WAIT_S = 0


class HostStateError(EcsError):
    """The host is in a state the module will not change, or did not converge; the message names it and the fix."""


class EcsAction(ActionBase):
    """Action plugin base; see the module docstring."""

    TRANSFERS_FILES = False
    # Every subclass sets it (its module stub's DOCUMENTATION).
    DOCUMENTATION: str = None  # type: ignore[assignment]
    # Read-only modules send their first command without code, betting the host has the op library cached.
    OPTIMISTIC = False
    # ArgumentSpecValidator conditionals DOCUMENTATION cannot express (mutually_exclusive, required_if, ...).
    ARG_CONDITIONALS: dict[str, Any] = {}

    def run(self, tmp: str | None = None, task_vars: dict | None = None) -> dict:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        try:
            params, no_log_values = _args.validate(
                self._task.action, self.DOCUMENTATION, self._task.args, **self.ARG_CONDITIONALS
            )
        except _args.ArgumentError as exc:
            result.update(failed=True, changed=False, msg=str(exc), commands=0)
            return remove_values(result, exc.no_log_values)
        try:
            params = self.check_args(params)
        except ValueError as exc:
            result.update(
                failed=True, changed=False, msg="invalid arguments for %s: %s" % (self._task.action, exc), commands=0
            )
            return remove_values(result, no_log_values)
        self._host_name = (task_vars or {}).get("inventory_hostname") or self._play_context.remote_addr
        runner = _runner.OpRunner(
            self._connection,
            self._host_name,
            self._task.action,
            lock_wait_s=APPLY_LOCK_WAIT_S,
            progress=self._progress,
            store=not self._task.check_mode,
            optimistic=self.OPTIMISTIC,
        )
        try:
            result.update(self.execute(params, runner))
        except _runner.RemoteUnreachable as exc:
            result.update(unreachable=True, msg=str(exc), **exc.result)
        except (_runner.RemoteError, EcsError) as exc:
            result.update(failed=True, **exc.result)
            result["msg"] = str(exc) + failure_hint(exc.result.get("op"), exc.result.get("category"))
        result.setdefault("changed", False)
        result["commands"] = runner.commands
        result["cache"] = runner.cache_state
        return remove_values(result, no_log_values)

    def _progress(self, text: str) -> None:
        """A progress line at default verbosity (as ansible.windows' win_updates prints while it waits)."""
        display.display("%s: %s" % (self._host_name, text))

    def check_args(self, params: dict) -> dict:
        """Rules DOCUMENTATION cannot express (formats, cross-argument); raise ValueError naming the argument.
        Runs before anything is sent. Returns the (normalised) params."""
        return params

    def execute(self, params: dict, runner: _runner.OpRunner) -> dict:
        """Result keys of this module (without `commands`); default: converge."""
        return self.converge(params, runner)

    # --- probe -> plan -> apply -------------------------------------------------------------------------------------

    def probe_args(self, params: dict) -> dict:
        return {"container_detail": "none", "files": []}

    def plan(self, params: dict, facts: dict) -> Plan:
        """Pure: a Plan from the validated params and the probe facts; raise _plan.Refusal to refuse."""
        raise NotImplementedError

    def report(self, params: dict, facts: dict, plan: Plan, applied: list[tuple[str, Any]]) -> dict:
        """Module-specific result keys from the final facts, the first plan and the op results of the applied
        batches (op, result) in order (empty when nothing was applied)."""
        return {}

    def verify(self, params: dict, facts: dict, plan: Plan, applied: list[tuple[str, Any]]) -> list[str]:
        """Problems left after apply (list of str); default: what a new plan on the final facts would still change."""
        try:
            return self.plan(params, facts).changes
        except Refusal as exc:
            return [str(exc)]

    def refusal_result(self, params: dict, facts: dict, exc: Refusal) -> dict:
        """Result keys of a refused run."""
        return {"findings": exc.problems, "facts": _findings.instance_facts(facts)}

    def host_result(self, params: dict, facts: dict) -> dict:
        """What every host module returns about the host: its facts and findings (as instance_info)."""
        found = _findings.findings(facts, params.get("cluster"))
        return {"facts": _findings.instance_facts(facts), "findings": found, "healthy": not found}

    def probe(self, params: dict, runner: _runner.OpRunner, salt: str) -> dict:
        facts = runner.run([self._probe_call(params, salt)])[0]
        self._show_timings(facts)
        return facts

    def _probe_call(self, params: dict, salt: str) -> tuple[str, dict]:
        return ("probe", dict(self.probe_args(params), salt=salt))

    def _show_timings(self, facts: dict) -> None:
        slowest = sorted(facts["timings_ms"].items(), key=lambda item: -item[1])[:3]
        display.v(
            "probe of %s took %d ms; slowest sections: %s"
            % (self._host_name, sum(facts["timings_ms"].values()), ", ".join("%s %d ms" % item for item in slowest)),
            host=self._host_name,
        )

    def _plan(self, params: dict, facts: dict) -> Plan:
        try:
            return self.plan(params, facts)
        except Refusal as exc:
            raise HostStateError(str(exc), **self.refusal_result(params, facts, exc)) from None

    def converge(self, params: dict, runner: _runner.OpRunner) -> dict:
        salt = self._salt = secrets.token_hex(8)
        self._lock_wait_started: float | None = None
        facts = self.probe(params, runner, salt)
        first = plan = self._plan(params, facts)
        result: dict[str, Any] = {"changed": bool(plan), "changes": list(plan.changes)}
        if self._task.diff and plan:
            result["diff"] = {"before": plan.before, "after": plan.after}
        if not plan or self._task.check_mode:
            result.update(self.host_result(params, facts))
            result.update(self.report(params, facts, plan, []))
            return result
        applied, passes, retries = [], 0, 0
        while plan and passes < MAX_PASSES:
            try:
                results = runner.run(plan.calls + [self._probe_call(params, salt)])
            except _runner.RemoteOpError as exc:
                done = list(zip(plan.calls, exc.result.get("op_results") or []))
                applied += [(call[0], value) for call, value in done]
                wait = self._after_failure(exc, params, runner, retries)
                if wait is None:
                    exc.result.update(
                        changed=any(not _contract.read_only(op) for op, _value in applied), changes=result["changes"]
                    )
                    raise
                retries += 1
                facts = wait if isinstance(wait, dict) else self.probe(params, runner, salt)
                plan = self._plan(params, facts)
                if not any(not _contract.read_only(op) for op, _value in applied):
                    # Nothing changed yet: this run does what the new plan says, on the host as it is now.
                    first = plan
                    result["changes"] = list(plan.changes)
                    result.pop("diff", None)
                    if self._task.diff and plan:
                        result["diff"] = {"before": plan.before, "after": plan.after}
                continue
            passes += 1
            applied += [(call[0], value) for call, value in zip(plan.calls, results[:-1])]
            # The batch itself waited a first round for the registration (wait_step): the controller's wait goes on
            # from there, so its progress and its limit count the whole wait.
            waited = sum(
                value.get("waited_s") or 0
                for call, value in zip(plan.calls, results[:-1])
                if call[0] == "wait_registered" and isinstance(value, dict)
            )
            facts, waited_out = self._wait(plan, runner, results[-1], params, salt, waited)
            follow_up = Plan() if waited_out else self._follow_up(params, facts)
            # A follow-up pass is for what the verifying probe newly shows (a rule dead behind a stopped agent); the same
            # changes again mean they did not stick, which verify reports.
            plan = follow_up if follow_up.changes != plan.changes and passes < MAX_PASSES else Plan()
            result["changes"] += plan.changes
        result["changed"] = any(not _contract.read_only(op) for op, _value in applied)
        result.update(self.host_result(params, facts))
        result.update(self.report(params, facts, first, applied))
        left = self.verify(params, facts, first, applied)
        if left:
            raise HostStateError(
                "%s applied %s but the host did not converge: %s"
                % (self._task.action, "; ".join(result["changes"]), "; ".join(left)),
                **result,
            )
        return result

    def _follow_up(self, params: dict, facts: dict) -> Plan:
        try:
            return self.plan(params, facts)
        except Refusal:
            return Plan()  # reported by verify

    # --- the controller's waits -------------------------------------------------------------------------------------

    def _after_failure(
        self, exc: _runner.RemoteOpError, params: dict, runner: _runner.OpRunner, retries: int
    ) -> bool | dict | None:
        """Wait out what a failed batch ran into, or None when the failure stands: ECSTools' reboot task, another run's
        lock (then the facts after it, to plan on). (init_agent retries the sporadic adapter error itself, on the host.)"""
        category = exc.result.get("category")
        if category == "busy":
            return self._wait_ecstools(runner)
        if category == "locked":
            return self._wait_lock(exc, params, runner)
        return None

    def _wait_ecstools(self, runner: _runner.OpRunner) -> bool | None:
        """Rounds of wait_task_idle on ECSTools' Initialize-ECSHostReboot until it has run since this boot and is idle."""
        started = time.monotonic()
        while time.monotonic() - started < ECSTOOLS_WAIT_S:
            self._progress(
                "waiting for ECSTools' %s%s to finish (it reconfigures the agent at startup): %d s of %d s"
                % (
                    _host.ECSTOOLS_REBOOT_TASK_PATH,
                    _host.ECSTOOLS_REBOOT_TASK_NAME,
                    time.monotonic() - started,
                    ECSTOOLS_WAIT_S,
                )
            )
            answer = runner.run(
                [
                    (
                        "wait_task_idle",
                        {
                            "task_path": _host.ECSTOOLS_REBOOT_TASK_PATH,
                            "task_name": _host.ECSTOOLS_REBOOT_TASK_NAME,
                            "timeout_s": ECSTOOLS_ROUND_S,
                            "busy_error": False,
                        },
                    )
                ]
            )[0]
            if answer["idle"]:
                return True
        return None

    def _wait_lock(self, exc: _runner.RemoteOpError, params: dict, runner: _runner.OpRunner) -> dict | None:
        """Another run holds the host lock: rounds of a probe that takes the lock (waiting up to LOCK_ROUND_S for it on
        the host), with a progress line each, within lock_timeout. Returns the facts the probe saw once it had the lock
        (the host as the other run left it), or None when lock_timeout is spent: `exc` then says who holds the lock
        and how long this task waited."""
        budget = params.get("lock_timeout", LOCK_ROUND_S)
        if self._lock_wait_started is None:
            self._lock_wait_started = time.monotonic()
        last = exc
        while True:
            waited = time.monotonic() - self._lock_wait_started
            left = budget - waited
            if left <= 0:
                exc.plain_message = "%s (%s): %s; this task waited %d s for it (lock_timeout %d s)" % (
                    exc.plain_message.split(" (locked): ", 1)[0],
                    "locked",
                    last.result.get("op_message"),
                    waited,
                    budget,
                )
                return None
            # The host's message ends "; waited N s. Run again once it has finished": the holder is before it.
            self._progress(
                "%s; waiting for it: %d s of lock_timeout %d s"
                % ((last.result.get("op_message") or "").split("; waited ", 1)[0], waited, budget)
            )
            try:
                facts = runner.run(
                    [self._probe_call(params, self._salt)], lock_wait_s=min(LOCK_ROUND_S, max(1, math.ceil(left)))
                )
            except _runner.RemoteOpError as again:
                if again.result.get("category") != "locked":
                    raise
                last = again
                continue
            return facts[0]

    def _wait(
        self, plan: Plan, runner: _runner.OpRunner, facts: dict, params: dict, salt: str, waited: float = 0.0
    ) -> tuple[dict, bool]:
        """The registration waits of a plan, in rounds of wait_registered + probe with a progress line each, counting
        the `waited` seconds the apply batch already waited: (the facts of the last probe, whether a wait ran out of
        time)."""
        for wait in plan.waits:
            started = time.monotonic() - waited
            while not _registered(facts, wait.cluster):
                waited = time.monotonic() - started
                if waited >= wait.timeout_s:
                    return facts, True
                self._progress(
                    "waiting for the agent to register to %s: %d s of %d s" % (wait.cluster, waited, wait.timeout_s)
                )
                round_s = int(min(REGISTRATION_ROUND_S, max(1, wait.timeout_s - waited)))
                facts = runner.run(
                    [
                        ("wait_registered", {"cluster": wait.cluster, "timeout_s": round_s, "interval_s": 2}),
                        self._probe_call(params, salt),
                    ]
                )[-1]
        return facts, False


def failure_hint(op: str | None, category: str | None) -> str:
    """What an op failure's own message does not say: the option that bounded it and what the next run does."""
    if category == "timeout" and op == "init_agent":
        return (
            "; the limit is init_timeout (container_instance_init_timeout in the container_instance role): that run "
            "of Initialize-ECSAgent was stopped with its child processes and nothing after it in the batch ran. "
            "ECSTools hangs now and then: run the task again (it probes the host and initialises the agent again); "
            "raise init_timeout only when Initialize-ECSAgent needs longer on this host"
        )
    return ""


def _registered(facts: dict, cluster: str) -> bool:
    reg = facts["registration"]
    return bool(reg["reachable"] and reg["container_instance_arn"] and reg["cluster"] == cluster)
