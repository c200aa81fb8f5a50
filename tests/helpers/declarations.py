"""Declarations as an applicant sends them: the form's fields, photos a phone would take
(EXIF with a GPS position, a comment, an ICC profile, XMP), and the hostile files of the
upload tests (a renamed program, a truncated JPEG, decompression bombs).

Everything is made here, in memory, from Pillow and the standard library: no file is shipped.
"""

from __future__ import annotations

import io
import secrets
import struct
import zlib
from datetime import date

from PIL import Image, ImageCms, ImageDraw

from gateway.extensions import db
from gateway.models import Application
from gateway.services.offices import load_file, shipped_file
from tests.helpers import random_bhxh

OFFICE = "BHXH-001"  # Hà Nội, in the shipped list
GPS_SECRET = "21.0285N 105.8542E"  # what a leaked position would show
COMMENT = b"SECRET-CAMERA-COMMENT"
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
       b'22-rdf-syntax-ns#"><rdf:Description>SECRET-XMP</rdf:Description></rdf:RDF>'
       b'</x:xmpmeta>')


def load_offices() -> None:
    """The shipped list of offices (BHXH-001 …), as `make run` loads it."""
    load_file(shipped_file(), via="test")


def cccd_for(dob: date, sex: str, province: str = "001") -> str:
    """A CCCD number consistent with a birth date and sex (serial random)."""
    century_digit = (dob.year // 100 - 19) * 2 + (1 if sex == "female" else 0)
    serial = "".join(secrets.choice("0123456789") for _ in range(6))
    return f"{province}{century_digit}{dob.year % 100:02d}{serial}"


def fields(**overrides) -> dict[str, str]:
    """A valid declaration's text fields (a new social-insurance number each time)."""
    dob = date(1990, 5, 17)
    values = {"bhxh_number": random_bhxh(), "full_name": "Nguyễn Văn Bình",
              "date_of_birth": dob.isoformat(), "sex": "male",
              "id_number": cccd_for(dob, "male"), "phone": "0912345678",
              "email": "binh.nguyen@example.vn", "office": OFFICE}
    values.update(overrides)
    return values


def _photo(size: tuple[int, int], colour: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w // 4, h // 6, 3 * w // 4, 2 * h // 3), fill=(230, 190, 160))
    draw.rectangle((0, 0, w // 3, h // 10), fill=(20, 40, 200))  # marks the top-left corner
    return image


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "SECRET-CAMERA-MAKER"
    exif[0x8825] = {1: "N", 2: (21.0, 1.0, 42.6), 3: "E", 4: (105.0, 51.0, 15.1)}
    return exif


def jpeg(size=(600, 800), *, orientation: int = 1, colour=(90, 120, 150),
         quality: int = 92) -> bytes:
    """A JPEG as a phone writes it: EXIF (orientation, maker, GPS), a comment, an ICC
    profile and XMP."""
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    _photo(size, colour).save(out, "JPEG", quality=quality, exif=exif_with_gps(orientation),
                              comment=COMMENT, icc_profile=icc, xmp=XMP)
    return out.getvalue()


def png(size=(800, 500), *, colour=(200, 210, 220)) -> bytes:
    """A PNG with text chunks, EXIF (GPS) and an ICC profile."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", COMMENT.decode())
    info.add_itxt("XML:com.adobe.xmp", XMP.decode(), zip=True)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    _photo(size, colour).save(out, "PNG", pnginfo=info, exif=exif_with_gps(), icc_profile=icc)
    return out.getvalue()


def noisy_jpeg(size=(1200, 1600), quality: int = 92) -> bytes:
    """A JPEG that does not compress well (camera noise): about 0.8 bytes a pixel at q92."""
    out = io.BytesIO()
    grain = Image.effect_noise(size, 60)
    Image.merge("RGB", (grain, grain.rotate(90, expand=False), grain.transpose(
        Image.Transpose.FLIP_LEFT_RIGHT))).save(out, "JPEG", quality=quality)
    return out.getvalue()


def photos(**overrides) -> dict[str, tuple[bytes, str, str]]:
    """The three photos: field -> (bytes, file name, declared type)."""
    files = {"portrait": (jpeg((600, 800)), "chan-dung.jpg", "image/jpeg"),
             "id_front": (jpeg((856, 540), colour=(180, 160, 120)), "cccd-truoc.jpg",
                          "image/jpeg"),
             "id_back": (png((856, 540)), "cccd-sau.png", "image/png")}
    files.update(overrides)
    return files


def multipart(values: dict[str, str], files: dict[str, tuple[bytes, str, str]]) -> dict:
    """A Flask test client's ``data=`` for a multipart declaration."""
    data: dict = dict(values)
    for name, (content, filename, content_type) in files.items():
        data[name] = (io.BytesIO(content), filename, content_type)
    return data


BOUNDARY = "declaration-boundary-7f3a"


def multipart_body(values: dict[str, str], files: dict[str, tuple[bytes, str, str]],
                   total: int) -> bytes:
    """A multipart body of exactly ``total`` bytes: the portrait padded to fill it."""
    def part(name: str, content: bytes, filename: str | None = None, kind: str = "") -> bytes:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"'
                                                     if filename is not None else "")
        head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
        if kind:
            head += f"Content-Type: {kind}\r\n"
        return head.encode() + b"\r\n" + content + b"\r\n"

    parts = [part(k, v.encode()) for k, v in values.items()]
    parts += [part(k, c, f, t) for k, (c, f, t) in files.items() if k != "portrait"]
    end = f"--{BOUNDARY}--\r\n".encode()
    empty = part("portrait", b"", "a.jpg", "image/jpeg")
    padding = total - sum(map(len, parts)) - len(end) - len(empty)
    return b"".join(parts) + part("portrait", b"\xff\xd8\xff" + b"\0" * (padding - 3), "a.jpg",
                                  "image/jpeg") + end


# --- hostile files ------------------------------------------------------------------------


def renamed_program() -> tuple[bytes, str, str]:
    """An ELF executable named and declared as a JPEG."""
    return (b"\x7fELF\x02\x01\x01" + bytes(9) + secrets.token_bytes(4000), "anh.jpg",
            "image/jpeg")


def truncated_jpeg() -> tuple[bytes, str, str]:
    whole = jpeg((800, 1000), quality=95)
    return whole[: len(whole) // 2], "anh.jpg", "image/jpeg"


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def png_bomb(side: int = 50_000) -> tuple[bytes, str, str]:
    """A valid PNG header declaring side × side grey pixels (2.5 gigapixels at 50 000) over a
    few kilobytes of compressed zeros: a decompression bomb."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * ((side + 1) * 200), 9)
    data = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows)
            + _chunk(b"IEND", b""))
    return data, "bomb.png", "image/png"


def jpeg_bomb(side: int = 60_000) -> tuple[bytes, str, str]:
    """A small JPEG whose frame header is rewritten to declare side × side pixels."""
    data = bytearray(jpeg((256, 256)))
    at = data.index(b"\xff\xc0")  # baseline SOF0: length(2) precision(1) height(2) width(2)
    data[at + 5:at + 9] = struct.pack(">HH", side, side)
    return bytes(data), "bomb.jpg", "image/jpeg"


def tiny_png() -> tuple[bytes, str, str]:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (1, 2, 3)).save(out, "PNG")
    return out.getvalue(), "tiny.png", "image/png"


def gif() -> tuple[bytes, str, str]:
    out = io.BytesIO()
    Image.new("P", (400, 400)).save(out, "GIF")
    return out.getvalue(), "anh.jpg", "image/jpeg"


# --- the register -------------------------------------------------------------------------


def application(reference: str) -> Application | None:
    db.session.expire_all()
    return db.session.query(Application).filter_by(reference=reference).first()


def reject(reference: str, reason_code: str = "photo_unusable",
           reason: str = "Ảnh chân dung bị mờ, vui lòng chụp lại.") -> Application:
    """A clerk of the application's office rejects it through the decisions service (as the
    console does: audit record, event, the SMS with the reason)."""
    from gateway.services.application_decisions import decide
    from tests.helpers.applications import new_staff

    clerk = new_staff("office_staff", office=application(reference).office_code)
    decide(clerk, reference, "reject", reason_code=reason_code, reason=reason)
    db.session.expire_all()
    return application(reference)


def stored_files(root) -> list[str]:
    """Every file under the file store's directory (temporary names included)."""
    from pathlib import Path

    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file())

