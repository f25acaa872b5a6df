import base64

import pytest
from pydantic import Field

from reactor_runtime import SchemaError, UploadedFile, VideoModel, command
from reactor_runtime.schema import coerce, commands_of


class Pictures(VideoModel):
    @command("set_picture", description="The picture")
    def set_picture(self, picture: UploadedFile, caption: str = ""):
        pass

    @command("described")
    def described(self, file: UploadedFile = Field(..., description="Any file")):
        pass


def test_an_uploaded_file_parameter_is_reactors_upload_reference():
    declared = {c["name"]: c for c in commands_of(Pictures)}
    assert declared["set_picture"]["schema"]["properties"]["picture"] == {
        "type": "object",
        "format": "reactor-upload-reference",
    }
    assert declared["set_picture"]["schema"]["required"] == ["picture"]
    assert declared["described"]["schema"]["properties"]["file"]["description"] == "Any file"


def test_a_file_parameter_has_no_default():
    class Bad(VideoModel):
        @command("bad")
        def bad(self, picture: UploadedFile = None):
            pass

    with pytest.raises(SchemaError, match="cannot have a default"):
        commands_of(Bad)


def test_coerce_gives_the_method_an_uploaded_file():
    schema = {c["name"]: c for c in commands_of(Pictures)}["set_picture"]["schema"]
    raw = bytes(range(256))
    args = coerce(schema, {
        "picture": {"name": "a.png", "mime_type": "image/png", "base64": base64.b64encode(raw).decode()},
        "caption": "x",
    })
    assert isinstance(args["picture"], UploadedFile)
    assert (args["picture"].name, args["picture"].mime_type, args["picture"].data) == ("a.png", "image/png", raw)
    assert args["caption"] == "x"
