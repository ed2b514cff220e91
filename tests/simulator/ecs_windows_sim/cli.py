def main():
    raise SystemExit("not implemented yet")
