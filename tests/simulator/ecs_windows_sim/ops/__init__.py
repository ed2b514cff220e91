"""One emulation per op of the contract: module `<op>` with `run(state, args) -> result`.

An emulation acts on the host state like the op's PowerShell acts on Windows (docs/dev/host-model.md,
"Op emulations") and raises opscript.OpError where the PowerShell calls New-EcsOpError.
"""
