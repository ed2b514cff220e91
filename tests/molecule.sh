#!/usr/bin/env bash
# Molecule scenarios of the collection, run from the repository root (make molecule; tests/run-all.sh).
#   default: two simulated instances, configure, idempotence (second converge must change nothing), verify
#   reboot:  configure, reboot through the simulator, verify detects, recover, verify healthy
#   ec2:     real AWS instances; only syntax-checked here (see extensions/molecule/ec2/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$PWD/.venv/collections}"

run() {
    local scenario=$1
    shift
    echo "== molecule $* -s $scenario"
    molecule "$@" -s "$scenario"
}

start=$SECONDS
# Every ECS-optimized variant (issue 13): the default scenario on a mixed fleet of the six presets, the reboot
# scenario on 2025 Core.
ECS_SIM_HOSTS=6 ECS_SIM_PRESET=ecs-2019,ecs-2022,ecs-2025,ecs-2019-core,ecs-2022-core,ecs-2025-core run default test
ECS_SIM_PRESET=ecs-2025-core run reboot test
run ec2 syntax
ansible-playbook --syntax-check -i localhost, extensions/molecule/ec2/create.yml extensions/molecule/ec2/destroy.yml
echo "== molecule: default and reboot passed, ec2 syntax-checked in $((SECONDS - start)) s"
