"""policies.images: photos recognised by content, bounded, and re-encoded without any
metadata; hostile files refused with their code; arbitrary bytes never escape as another
exception (hypothesis)."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from policies.images import (
    JPEG,
    MAX_SIDE,
    MIN_SIDE,
    PNG,
    CleanImage,
    ImageLimits,
    ImageRefused,
    clean_image,
    sniff,
)
from tests.helpers import declarations as make

LIMITS = ImageLimits(max_bytes=5 * 1024 * 1024, max_pixels=24_000_000)
SECRETS = (b"SECRET", b"Exif", b"GPS", b"ICC_PROFILE", b"iCCP", b"tEXt", b"iTXt", b"zTXt",
           b"eXIf", b"xmpmeta", b"http://ns.adobe.com")


def clean(data: bytes, limits: ImageLimits = LIMITS) -> CleanImage:
    return clean_image(io.BytesIO(data), limits)


def refusal(data: bytes, limits: ImageLimits = LIMITS) -> str:
    with pytest.raises(ImageRefused) as caught:
        clean(data, limits)
    return caught.value.code


def reopened(result: CleanImage) -> Image.Image:
    image = Image.open(io.BytesIO(result.data))
    image.load()
    return image


def test_a_phone_jpeg_loses_every_metadata():
    original = make.jpeg((600, 800))
    before = Image.open(io.BytesIO(original))
    assert before.getexif().get_ifd(0x8825)  # the GPS position is there...
    assert {"exif", "comment", "icc_profile", "xmp"} <= set(before.info)
    result = clean(original)
    assert result.content_type == JPEG and result.data[:3] == b"\xff\xd8\xff"
    after = reopened(result)
    assert after.format == "JPEG" and after.size == (600, 800)
    assert not after.getexif()  # ...and is gone, with the maker, the comment, ICC, XMP
    assert set(after.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi",
                               "progressive", "progression"}
    assert not any(marker in result.data for marker in SECRETS)


def test_a_png_loses_its_text_chunks_exif_and_profile():
    original = make.png((800, 500))
    assert b"tEXt" in original and b"eXIf" in original and b"iCCP" in original
    result = clean(original)
    assert result.content_type == PNG and result.data.startswith(b"\x89PNG")
    after = reopened(result)
    assert after.size == (800, 500) and not after.getexif() and not after.info.get("Comment")
    assert not any(marker in result.data for marker in SECRETS)


def test_the_exif_orientation_is_applied_before_it_is_dropped():
    # Orientation 6: the camera was turned; viewers rotate 90° clockwise to show it.
    result = clean(make.jpeg((800, 600), orientation=6))
    after = reopened(result)
    assert after.size == (600, 800)
    # The blue band drawn at the stored image's top-left is at the shown image's top-right.
    r, g, b = after.convert("RGB").getpixel((after.width - 5, 5))
    assert b > 150 and r < 80


def test_a_big_photo_is_scaled_to_max_side():
    big = io.BytesIO()
    Image.new("RGB", (5000, 3000), (10, 200, 30)).save(big, "JPEG", quality=80)
    result = clean(big.getvalue())
    assert (result.width, result.height) == (MAX_SIDE, round(3000 * MAX_SIDE / 5000))
    assert reopened(result).size == (result.width, result.height)


def test_a_phone_photo_is_decoded_at_half_scale_and_not_resampled():
    phone = io.BytesIO()
    Image.new("RGB", (4032, 3024), (200, 30, 30)).save(phone, "JPEG", quality=70)
    result = clean(phone.getvalue())
    assert (result.width, result.height) == (4032 // 2, 3024 // 2)


@pytest.mark.parametrize(("mode", "expected"), [("CMYK", "RGB"), ("L", "L")])
def test_jpeg_modes_are_written_as_rgb_or_grey(mode, expected):
    out = io.BytesIO()
    Image.new(mode, (300, 300)).save(out, "JPEG")
    assert reopened(clean(out.getvalue())).mode == expected


def test_a_palette_png_with_transparency_becomes_rgba():
    out = io.BytesIO()
    palette = Image.new("P", (300, 300))
    palette.info["transparency"] = 0
    palette.save(out, "PNG", transparency=0)
    assert reopened(clean(out.getvalue())).mode == "RGBA"


def test_only_the_first_picture_of_an_animation_is_kept():
    out = io.BytesIO()
    frames = [Image.new("RGB", (300, 300), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:])
    after = reopened(clean(out.getvalue()))
    assert getattr(after, "n_frames", 1) == 1 and after.getpixel((1, 1))[:3] == (255, 0, 0)


@pytest.mark.parametrize(("hostile", "code"), [
    (make.renamed_program, "unsupported_image"),
    (make.gif, "unsupported_image"),
    (make.truncated_jpeg, "image_unreadable"),
    (make.png_bomb, "image_too_large"),          # 2.5 gigapixels: Pillow's own check
    (lambda: make.png_bomb(6000), "image_too_large"),  # 36 megapixels: over max_pixels
    (make.jpeg_bomb, "image_too_large"),
    (lambda: make.jpeg_bomb(5500), "image_too_large"),
    (make.tiny_png, "image_too_small"),
])
def test_hostile_and_useless_files_are_refused_with_their_code(hostile, code):
    data, _, _ = hostile()
    assert refusal(data) == code


def test_bytes_are_bounded_before_anything_is_decoded():
    data = make.jpeg((600, 800))
    assert refusal(data, ImageLimits(max_bytes=len(data) - 1, max_pixels=10**7)) \
        == "file_too_large"
    assert clean(data, ImageLimits(max_bytes=len(data), max_pixels=10**7))
    assert refusal(b"") == "required"


def test_pixels_are_bounded_from_the_header():
    data = make.jpeg((600, 800))
    assert refusal(data, ImageLimits(max_bytes=10**7, max_pixels=600 * 800 - 1)) \
        == "image_too_large"
    assert clean(data, ImageLimits(max_bytes=10**7, max_pixels=600 * 800))


def test_a_side_below_min_side_is_too_small():
    out = io.BytesIO()
    Image.new("RGB", (MIN_SIDE - 1, 800)).save(out, "PNG")
    assert refusal(out.getvalue()) == "image_too_small"


def test_the_signature_decides_not_a_name_or_type():
    assert sniff(make.jpeg()) == JPEG and sniff(make.png()) == PNG
    assert sniff(b"GIF89a") is None and sniff(b"\x7fELF") is None and sniff(b"") is None
    # A JPEG signature followed by something Pillow cannot read as a JPEG
    assert refusal(b"\xff\xd8\xff\xe0" + bytes(5000)) in {"unsupported_image",
                                                           "image_unreadable"}
    # PNG bytes behind a JPEG signature are not a JPEG
    assert refusal(b"\xff\xd8\xff" + make.png()) in {"unsupported_image", "image_unreadable"}


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"]), st.binary(max_size=4096))
def test_arbitrary_bytes_are_refused_with_a_code(prefix, tail):
    try:
        result = clean(prefix + tail)
    except ImageRefused as exc:
        assert exc.code in {"required", "unsupported_image", "image_unreadable",
                            "image_too_large", "image_too_small"}
        return
    assert result.content_type in (JPEG, PNG)  # hypothesis found a real image: still clean


@settings(max_examples=25, deadline=None)
@given(st.integers(MIN_SIDE, 700), st.integers(MIN_SIDE, 700),
       st.sampled_from(["RGB", "L", "RGBA", "P"]), st.sampled_from(["JPEG", "PNG"]))
def test_any_real_image_comes_back_clean_and_stable(width, height, mode, fmt):
    if fmt == "JPEG" and mode in ("RGBA", "P"):
        mode = "RGB"
    image = Image.new(mode, (width, height), 7)
    out = io.BytesIO()
    image.save(out, fmt, **({"exif": make.exif_with_gps()} if fmt == "JPEG" else {}))
    result = clean(out.getvalue())
    assert (result.width, result.height) == (width, height)
    assert result.content_type == (JPEG if fmt == "JPEG" else PNG)
    again = clean(result.data)
    assert (again.width, again.height, again.content_type) == (width, height,
                                                               result.content_type)
    assert not reopened(result).getexif()
