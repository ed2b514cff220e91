"""ecs_windows_sim: a WinRM endpoint that simulates Windows ECS container instances."""
