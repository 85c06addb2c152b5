"""Provenance records: what they hold, how two of them are told apart."""

from importlib import metadata

from decaylab import provenance


def test_a_record_names_the_code_packages_and_machine():
    record = provenance.record("tensorflow", "tensorflow:cpu", "float32", 2)
    assert record["numpy"] == metadata.version("numpy")
    assert record["keras"] == metadata.version("keras")
    assert record["tensorflow"] == metadata.version("tensorflow")
    assert record["decaylab"] == metadata.version("decaylab")
    assert (record["backend"], record["dtype"], record["threads"]) == ("tensorflow", "float32", 2)
    assert record["cpu"] and record["python"]
    commit, dirty = provenance.git_state(provenance.SOURCE)
    assert record["commit"] == commit and record["uncommitted_changes"] == dirty


def test_a_study_under_two_provenances_shows_which_fields_differ():
    first = provenance.record("tensorflow", "tensorflow:cpu", "float32", 1)
    upgraded = {**first, "keras": "9.9.9"}
    assert provenance.key(first) == provenance.key(dict(first))
    assert provenance.key(first) != provenance.key(upgraded)
    assert provenance.differences(first, upgraded) == [f"keras: {first['keras']} → 9.9.9"]

    def shard(*records):
        return {"records": {provenance.key(r): r for r in records}}

    study = provenance.gather(
        {"a/sgd": shard(first), "a/adam": shard(first), "b/sgd": shard(first, upgraded)}
    )
    assert len(study["records"]) == 2
    assert study["shards"]["b/sgd"] == sorted([provenance.key(first), provenance.key(upgraded)])
    assert study["shards"]["a/sgd"] == [provenance.key(first)]
    page = provenance.html_table(study)
    assert "2 provenances" in page
    assert page.index("keras (differs)") < page.index("numpy")  # what differs comes first
    assert "a/adam, a/sgd, b/sgd" in page and "<td>b/sgd</td>" in page
