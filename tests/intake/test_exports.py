import intake


def test_every_exported_name_exists_once() -> None:
    for name in intake.__all__:
        assert hasattr(intake, name), name
    assert len(set(intake.__all__)) == len(intake.__all__)
