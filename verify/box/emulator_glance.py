"""The Glance calls Trove makes (image list by tag, image show, and the
schemas glanceclient builds its objects from), mixed into the emulator.
The box's images are the ones the emulator itself holds (self.images)."""

from __future__ import annotations

from typing import Any

from verify.box.emulator_model import HTTPError, ImageSpec


class GlanceCalls:
    """Needs self.images: {id: ImageSpec}."""

    images: dict[str, ImageSpec]

    def _image(self, i: ImageSpec) -> dict:
        return {"id": i.id, "name": i.name, "status": "active", "tags": list(i.tags),
                "checksum": i.checksum, "disk_format": "raw", "container_format": "bare",
                "visibility": "public", "min_disk": 0, "min_ram": 0, "size": 0,
                "self": f"/v2/images/{i.id}", "file": f"/v2/images/{i.id}/file",
                "schema": "/v2/schemas/image"}

    def images_list(self, query: dict, **_) -> tuple[int, Any]:
        tags = set(query.get("tag", []))
        images = [i for i in self.images.values() if tags <= set(i.tags)]
        return 200, {"images": [self._image(i) for i in images], "schema": "/v2/schemas/images",
                     "first": "/v2/images"}

    def images_get(self, id: str, **_) -> tuple[int, Any]:
        if id not in self.images:
            raise HTTPError(404, f"image {id} not found")
        return 200, self._image(self.images[id])

    def image_schema(self, name: str, **_) -> tuple[int, Any]:
        """glanceclient builds its image objects from this schema; a
        permissive one: the box's images are what the emulator itself says."""
        image = {"name": "image", "additionalProperties": True, "links": [],
                 "properties": {"id": {"type": "string"}, "name": {"type": ["null", "string"]},
                                "status": {"type": "string"},
                                "tags": {"type": "array", "items": {"type": "string"}}}}
        if name == "image":
            return 200, image
        return 200, {"name": "images", "links": [],
                     "properties": {"images": {"type": "array", "items": image},
                                    "schema": {"type": "string"},
                                    "first": {"type": "string"},
                                    "next": {"type": "string"}}}
