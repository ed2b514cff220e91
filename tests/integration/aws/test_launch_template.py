# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The user_data filter's base64 output in amazon.aws.ec2_launch_template, against a real moto server."""

from __future__ import annotations

import base64
import pathlib

HERE = pathlib.Path(__file__).resolve().parent


def test_launch_template_carries_the_user_data(moto, aws_playbook):
    variables = {"template_name": "ecs-windows", "cluster": "windows", "windows_variant": "2025-English-Core"}
    run = aws_playbook(variables, playbook=str(HERE / "launch_template.yml"))
    assert run.rc == 0, run.failure()
    assert run.stats["changed"] == 1
    versions = moto.client("ec2").describe_launch_template_versions(LaunchTemplateName="ecs-windows")["LaunchTemplateVersions"]
    data = versions[0]["LaunchTemplateData"]
    # The template keeps the SSM parameter, which EC2 resolves at each launch (moto does not resolve it).
    assert data["ImageId"] == "resolve:ssm:/aws/service/ami-windows-latest/Windows_Server-2025-English-Core-ECS_Optimized/image_id"
    sent = base64.b64decode(data["UserData"]).decode("ascii")
    assert sent.startswith("<powershell>\n") and sent.endswith("\n</powershell>\n")
    assert "Initialize-ECSAgent -Cluster 'windows' -EnableTaskIAMRole -Version '1.105.1' -LoggingDrivers '[\"json-file\",\"awslogs\"]'\n" in sent
    assert "New-WSManInstance -ResourceURI 'winrm/config/Listener'" in sent
