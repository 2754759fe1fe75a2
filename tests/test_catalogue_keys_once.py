"""Each catalogue key is written once: YAML keeps the last of two equal keys without a word, so a
label edited in one place and left in another would change a page depending on the order."""

from pathlib import Path

import pytest
import yaml

CATALOGUES = Path(__file__).resolve().parents[1] / "src" / "analysis" / "pages" / "catalogue"


def _repeated_keys(text: str) -> set:
    repeated = set()

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node)
            if key in seen:
                repeated.add(key)
            seen.add(key)
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    yaml.load(text, Loader=Loader)
    return repeated


def test_the_check_finds_a_repeated_key():
    assert _repeated_keys("a: 1\nb: 2\na: 3\n") == {"a"}


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_catalogue_key_is_written_once(lang):
    assert _repeated_keys((CATALOGUES / f"{lang}.yaml").read_text(encoding="utf-8")) == set()
