"""The Python side of a declared state: setters from its public fields, defaults, private fields, refusals."""

from typing import Literal

import pytest
from pydantic import Field

from reactor_runtime import InputState, SchemaError, VideoModel, command
from reactor_runtime._host import with_setters
from reactor_runtime.schema import commands_of
from reactor_runtime.state import setter_field, setters_of


class Look(InputState):
    speed: float = Field(1.0, ge=0, le=4, description="How fast")
    mode: Literal["a", "b"] = "a"
    _cache: list = []


class Model(VideoModel):
    state: Look

    @command("set_mode", description="A hand-written setter")
    def set_mode(self, mode: Literal["a", "b", "c"]):
        pass


def test_each_public_field_is_a_required_setter_with_its_bounds():
    setters = setters_of(Model)
    assert [s["name"] for s in setters] == ["set_speed", "set_mode"]
    assert setters[0]["schema"] == {
        "type": "object",
        "properties": {"speed": {"type": "number", "minimum": 0.0, "maximum": 4.0, "description": "How fast", "default": 1.0}},
        "required": ["speed"],
    }
    assert setter_field(setters[0]["method"]) == "speed"


def test_a_hand_written_command_of_the_same_name_wins():
    merged = with_setters(commands_of(Model), setters_of(Model))
    assert [c["name"] for c in merged] == ["set_mode", "set_speed"]
    assert merged[0]["method"] == "set_mode"


def test_instances_start_from_the_defaults_and_do_not_share_private_values():
    one, two = Look(), Look()
    one._cache.append(1)
    assert two._cache == []
    assert one.to_dict() == {"speed": 1.0, "mode": "a"}


def test_a_field_without_a_default_is_refused():
    class Bad(InputState):
        level: int = Field(..., ge=0)

    class M(VideoModel):
        state: Bad

    with pytest.raises(SchemaError, match='field "level": it has no default'):
        setters_of(M)


def test_a_model_without_state_has_no_setters():
    class Plain(VideoModel):
        pass

    assert setters_of(Plain) == []
