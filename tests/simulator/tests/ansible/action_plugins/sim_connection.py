# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only action: drive the connection plugin directly (exec_command, put_file, fetch_file, tmp dirs).

    sim_connection: {exec: <command line>, stdin: <text>}   -> rc, stdout, stderr
    sim_connection: {put: <local>, dest: <remote>}
    sim_connection: {fetch: <remote>, dest: <local>}
    sim_connection: {tmpdir_roundtrip: <local file>, report: <local>}  -> tmpdir (made, used, removed), its path
                                                                    also written to `report`
"""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        result["changed"] = False
        if "exec" in args:
            stdin = args.get("stdin")
            rc, stdout, stderr = self._connection.exec_command(
                args["exec"], in_data=stdin.encode("utf-8") if stdin else None, sudoable=False)
            result.update(rc=rc, stdout=to_text(stdout), stderr=to_text(stderr))
        elif "put" in args:
            self._connection.put_file(args["put"], args["dest"])
        elif "fetch" in args:
            try:
                self._connection.fetch_file(args["fetch"], args["dest"])
            except AnsibleError as exc:
                result.update(failed=True, msg=to_text(exc))
        elif "tmpdir_roundtrip" in args:
            tmpdir = self._make_tmp_path()
            remote = self._connection._shell.join_path(tmpdir, "payload.bin")
            self._connection.put_file(args["tmpdir_roundtrip"], remote)
            self._connection.fetch_file(remote, args["tmpdir_roundtrip"] + ".back")
            self._remove_tmp_path(tmpdir)
            result["tmpdir"] = tmpdir
            with open(args["report"], "w", encoding="utf-8") as handle:
                handle.write(tmpdir)
        else:
            raise AnsibleError("sim_connection: give exec, put, fetch or tmpdir_roundtrip")
        return result
