from typing import Annotated, Literal

import pytest
from pydantic import Field
from pydantic.v1 import Field as FieldV1

from reactor_runtime import SchemaError, VideoModel, command
from reactor_runtime.schema import coerce, commands_of


def schema_of(cls, name):
    return next(c for c in commands_of(cls) if c["name"] == name)


class Seed(VideoModel):
    @command("set_prompt", description="Change the prompt")
    def set_prompt(self, prompt: str):
        pass

    @command("move", description="Move the player")
    def move(self, direction: Literal["left", "right", "up", "down", "idle"] = "idle"):
        pass

    @command("camera", description="Aim the camera")
    def camera(
        self,
        yaw: float = Field(..., ge=-180, le=180, description="Degrees"),
        zoom: int = Field(1, ge=1, le=8),
        smooth: bool = True,
    ):
        pass


def test_plain_types_and_required():
    declared = schema_of(Seed, "set_prompt")
    assert declared["description"] == "Change the prompt"
    assert declared["schema"] == {
        "type": "object",
        "properties": {"prompt": {"type": "string"}},
        "required": ["prompt"],
    }


def test_literal_is_a_string_enum_with_its_default():
    assert schema_of(Seed, "move")["schema"]["properties"]["direction"] == {
        "type": "string",
        "enum": ["left", "right", "up", "down", "idle"],
        "default": "idle",
    }
    assert schema_of(Seed, "move")["schema"]["required"] == []


def test_pydantic_v2_field_bounds_description_and_defaults():
    props = schema_of(Seed, "camera")["schema"]
    assert props["properties"] == {
        "yaw": {"type": "number", "minimum": -180, "maximum": 180, "description": "Degrees"},
        "zoom": {"type": "integer", "minimum": 1, "maximum": 8, "default": 1},
        "smooth": {"type": "boolean", "default": True},
    }
    assert props["required"] == ["yaw"]


def test_pydantic_v1_field_and_exclusive_bounds():
    class V1(VideoModel):
        @command("speed")
        def speed(self, value: float = FieldV1(0.5, gt=0, lt=1, description="How fast")):
            pass

    assert schema_of(V1, "speed")["schema"]["properties"]["value"] == {
        "type": "number",
        "exclusiveMinimum": 0,
        "exclusiveMaximum": 1,
        "description": "How fast",
        "default": 0.5,
    }


def test_annotated_field_and_string_lengths():
    class A(VideoModel):
        @command("name")
        def name(self, text: Annotated[str, Field(min_length=1, max_length=20)] = "hi"):
            pass

    assert schema_of(A, "name")["schema"]["properties"]["text"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 20,
        "default": "hi",
    }


def test_string_annotations_resolve():
    namespace: dict = {}
    exec(
        "from __future__ import annotations\n"
        "from typing import Literal\n"
        "from reactor_runtime import VideoModel, command\n"
        "class M(VideoModel):\n"
        "    @command('go')\n"
        "    def go(self, way: Literal['a', 'b'], n: int = 2):\n"
        "        pass\n",
        namespace,
    )
    props = schema_of(namespace["M"], "go")["schema"]["properties"]
    assert props == {"way": {"type": "string", "enum": ["a", "b"]}, "n": {"type": "integer", "default": 2}}


@pytest.mark.parametrize(
    "source, message",
    [
        ("def f(self, options: dict): pass", 'parameter "options": type dict is not supported'),
        ("def f(self, thing: 'Missing'): pass", "do not resolve"),
        ("def f(self, thing: Thing): pass", 'parameter "thing": type Thing is not supported'),
        ("def f(self, x): pass", 'parameter "x": it has no type hint'),
        ("def f(self, n: Literal[1, 2]): pass", "a choice must be strings"),
        ("def f(self, *rest: int): pass", "*args and **kwargs"),
        ("def f(self, s: str = Field('a', ge=1)): pass", "applies to int and float parameters only"),
        ("def f(self, n: int = 'x'): pass", "its default 'x' is not a integer"),
        ("def f(self, n: int = None): pass", "a default of None"),
        ("def f(self, n: int = Field(2, multiple_of=2)): pass", "multiple_of"),
    ],
)
def test_unsupported_annotations_fail_naming_method_and_parameter(source, message):
    class Thing:
        pass

    namespace: dict = {"Literal": Literal, "Field": Field, "Thing": Thing}
    body = "\n".join("    " + line for line in source.split("\n"))
    exec(
        "from reactor_runtime import VideoModel, command\n"
        "class Bad(VideoModel):\n"
        "    @command('cmd')\n" + body + "\n",
        namespace,
    )
    with pytest.raises(SchemaError) as raised:
        commands_of(namespace["Bad"])
    assert 'command "cmd" (Bad.f)' in str(raised.value)
    assert message in str(raised.value)


def test_coerce_makes_floats_of_whole_numbers():
    schema = schema_of(Seed, "camera")["schema"]
    args = coerce(schema, {"yaw": 3, "zoom": 2, "smooth": False})
    assert isinstance(args["yaw"], float) and args["zoom"] == 2 and isinstance(args["zoom"], int)


def test_duplicate_command_names_fail():
    class Twice(VideoModel):
        @command("same")
        def a(self):
            pass

        @command("same")
        def b(self):
            pass

    with pytest.raises(SchemaError, match="declared twice"):
        commands_of(Twice)
