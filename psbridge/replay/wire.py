"""WSMan envelopes and PSRP fragments, as the replay server and the recorder see them.

Both sides of record/replay read the same traffic: the recorder watches what pypsrp sends and what a
live host answers, the replay server answers what pypsrp sends. This module holds what they share:
the WSMan namespaces and actions, parsing a request envelope, building a response or a fault, and
turning base64 PSRP fragments back into whole messages.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import uuid
from xml.etree import ElementTree as ET

from defusedxml.ElementTree import fromstring
from psrpcore.types import PSRPMessageType

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "wsmanfault": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "wst": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "pwsh": "http://schemas.microsoft.com/powershell",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

_TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
_SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
ACTION_CREATE = _TRANSFER + "Create"
ACTION_DELETE = _TRANSFER + "Delete"
ACTION_GET = _TRANSFER + "Get"
ACTION_COMMAND = _SHELL + "Command"
ACTION_SEND = _SHELL + "Send"
ACTION_RECEIVE = _SHELL + "Receive"
ACTION_SIGNAL = _SHELL + "Signal"

SIGNAL_TERMINATE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/Terminate"
SIGNAL_CTRL_C = "powershell/signal/ctrl_c"
STATE_DONE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"
STATE_RUNNING = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"
POWERSHELL_URI_PREFIX = "http://schemas.microsoft.com/powershell/"

# WSMan fault codes (docs/psrp.md, Errors and faults).
FAULT_OPERATION_TIMEOUT = 2150858793
FAULT_SHELL_NOT_FOUND = 2150858843

_FRAGMENT_HEADER = 21
_MESSAGE_HEADER = 40


class WireError(ValueError):
    """Traffic that does not parse as WSMan carrying PSRP."""


@dataclasses.dataclass(frozen=True)
class Request:
    """The parts of one WSMan request that record and replay look at."""

    action: str
    message_id: str
    resource_uri: str
    shell_id: str | None
    operation_timeout_s: float
    body: ET.Element

    @classmethod
    def parse(cls, data: bytes) -> Request:
        try:
            root = fromstring(data)
        except ET.ParseError as exc:
            raise WireError(f"request is not XML: {exc}") from None
        header = root.find("s:Header", NS)
        body = root.find("s:Body", NS)
        if header is None or body is None:
            raise WireError("request is not a SOAP envelope")
        shell_id = None
        for selector in header.findall("wsman:SelectorSet/wsman:Selector", NS):
            if selector.get("Name") == "ShellId":
                shell_id = selector.text
        timeout = header.findtext("wsman:OperationTimeout", default="PT20S", namespaces=NS)
        return cls(
            action=header.findtext("wsa:Action", default="", namespaces=NS),
            message_id=header.findtext("wsa:MessageID", default="", namespaces=NS),
            resource_uri=header.findtext("wsman:ResourceURI", default="", namespaces=NS),
            shell_id=shell_id.upper() if shell_id else None,
            operation_timeout_s=_seconds(timeout),
            body=body,
        )


def _seconds(duration: str) -> float:
    """`PT20S` / `PT0.5S` (the only xs:duration forms WSMan clients send) in seconds."""
    match = re.fullmatch(r"PT(\d+(?:\.\d+)?)S", duration.strip())
    return float(match.group(1)) if match else 20.0


def envelope(request: Request, action: str, body: ET.Element | None) -> bytes:
    """Build a response envelope that echoes the request's MessageID, as pypsrp checks."""
    root = ET.Element(f"{{{NS['s']}}}Envelope")
    header = ET.SubElement(root, f"{{{NS['s']}}}Header")
    ET.SubElement(header, f"{{{NS['wsa']}}}Action").text = action
    ET.SubElement(header, f"{{{NS['wsa']}}}MessageID").text = f"uuid:{str(uuid.uuid4()).upper()}"
    ET.SubElement(header, f"{{{NS['wsa']}}}RelatesTo").text = request.message_id
    body_el = ET.SubElement(root, f"{{{NS['s']}}}Body")
    if body is not None:
        body_el.append(body)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=False))


def fault(request: Request | None, code: int, message: str) -> bytes:
    """Build a WSMan fault body (sent with HTTP 500) in the shape pypsrp parses into WSManFaultError."""
    root = ET.Element(f"{{{NS['s']}}}Envelope")
    header = ET.SubElement(root, f"{{{NS['s']}}}Header")
    ET.SubElement(header, f"{{{NS['wsa']}}}Action").text = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
    if request is not None:
        ET.SubElement(header, f"{{{NS['wsa']}}}RelatesTo").text = request.message_id
    body = ET.SubElement(root, f"{{{NS['s']}}}Body")
    soap_fault = ET.SubElement(body, f"{{{NS['s']}}}Fault")
    code_el = ET.SubElement(soap_fault, f"{{{NS['s']}}}Code")
    ET.SubElement(code_el, f"{{{NS['s']}}}Value").text = "s:Receiver"
    reason = ET.SubElement(soap_fault, f"{{{NS['s']}}}Reason")
    ET.SubElement(reason, f"{{{NS['s']}}}Text").text = message
    detail = ET.SubElement(soap_fault, f"{{{NS['s']}}}Detail")
    wsman_fault = ET.SubElement(detail, f"{{{NS['wsmanfault']}}}WSManFault", Code=str(code), Machine="psbridge-replay")
    ET.SubElement(wsman_fault, f"{{{NS['wsmanfault']}}}Message").text = message
    return bytes(ET.tostring(root, encoding="utf-8"))


@dataclasses.dataclass(frozen=True)
class Message:
    """One whole PSRP message: its type, the pipeline it targets (None for the pool) and its CLIXML."""

    message_type: PSRPMessageType
    pipeline_id: uuid.UUID | None
    data: bytes

    @property
    def clixml(self) -> str:
        return self.data.decode("utf-8-sig")


class Defragmenter:
    """Joins PSRP fragments (MS-PSRP 2.2.4) into whole messages (MS-PSRP 2.2.1), per object id."""

    def __init__(self) -> None:
        self._partial: dict[int, bytearray] = {}

    def feed(self, data: bytes) -> list[Message]:
        messages: list[Message] = []
        view = memoryview(data)
        while view:
            if len(view) < _FRAGMENT_HEADER:
                raise WireError("truncated PSRP fragment header")
            object_id = int.from_bytes(view[0:8], "big")
            flags = view[16]
            length = int.from_bytes(view[17:21], "big")
            chunk = bytes(view[_FRAGMENT_HEADER : _FRAGMENT_HEADER + length])
            if len(chunk) != length:
                raise WireError("truncated PSRP fragment")
            view = view[_FRAGMENT_HEADER + length :]
            buffer = self._partial.setdefault(object_id, bytearray())
            buffer += chunk
            if flags & 0x2:  # end fragment
                del self._partial[object_id]
                messages.append(_unpack_message(bytes(buffer)))
        return messages


def _unpack_message(raw: bytes) -> Message:
    if len(raw) < _MESSAGE_HEADER:
        raise WireError("truncated PSRP message")
    try:
        message_type = PSRPMessageType(int.from_bytes(raw[4:8], "little"))
    except ValueError:
        raise WireError(f"unknown PSRP message type {int.from_bytes(raw[4:8], 'little'):#x}") from None
    pid = uuid.UUID(bytes_le=raw[24:40])
    return Message(message_type, None if pid.int == 0 else pid, raw[_MESSAGE_HEADER:])


def decode_b64(text: str | None) -> bytes:
    return base64.b64decode(text or "")


def receive_streams(response: bytes) -> tuple[str | None, bytes]:
    """Split a ReceiveResponse into (CommandId or None for the pool, stdout bytes)."""
    root = fromstring(response)
    command_id = None
    data = bytearray()
    for stream in root.findall("s:Body/rsp:ReceiveResponse/rsp:Stream", NS):
        command_id = stream.get("CommandId", command_id)
        data += decode_b64(stream.text)
    state = root.find("s:Body/rsp:ReceiveResponse/rsp:CommandState", NS)
    if state is not None:
        command_id = state.get("CommandId", command_id)
    return (command_id.upper() if command_id else None), bytes(data)
