"""WS-Management (WinRS) SOAP: parse requests, build responses and faults like Windows does.

Shapes follow responses captured from real Windows (see winrm-wire-protocol.md section 1).
"""

from __future__ import annotations

import base64
import dataclasses
import re
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
}
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
ACTION_CREATE = TRANSFER + "Create"
ACTION_DELETE = TRANSFER + "Delete"
ACTION_COMMAND = SHELL + "Command"
ACTION_SEND = SHELL + "Send"
ACTION_RECEIVE = SHELL + "Receive"
ACTION_SIGNAL = SHELL + "Signal"
ACTION_FAULT = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
RESOURCE_CMD = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
STATE_RUNNING = SHELL + "CommandState/Running"
STATE_DONE = SHELL + "CommandState/Done"
SIGNAL_TERMINATE = SHELL + "signal/terminate"

# Keep every envelope well under the client's MaxEnvelopeSize (153600): raw bytes per Receive.
MAX_STREAM_BYTES = 96 * 1024


class BadRequest(Exception):
    """The body is not a WS-Management request we can read (HTTP 400, like Windows)."""


@dataclasses.dataclass
class Request:
    action: str
    message_id: str
    resource_uri: str
    shell_id: str | None
    operation_timeout: float | None
    options: dict
    body: ET.Element


def _q(prefix, tag):
    return "{%s}%s" % (NS[prefix], tag)


def _duration_seconds(text):
    """PT20S / PT20.000S / PT1M -> seconds (None if unparsable)."""
    match = re.fullmatch(r"P(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?", (text or "").strip())
    if not match:
        return None
    hours, minutes, seconds = (float(v) if v else 0.0 for v in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def parse_request(data: bytes) -> Request:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise BadRequest("malformed XML: %s" % exc) from None
    header = root.find(_q("s", "Header"))
    body = root.find(_q("s", "Body"))
    if root.tag != _q("s", "Envelope") or header is None or body is None:
        raise BadRequest("not a SOAP 1.2 envelope")
    action = (header.findtext(_q("a", "Action")) or "").strip()
    message_id = (header.findtext(_q("a", "MessageID")) or "").strip()
    if not action or not message_id:
        raise BadRequest("missing a:Action or a:MessageID")
    shell_id = None
    for selector in header.iter(_q("w", "Selector")):
        if selector.get("Name") == "ShellId":
            shell_id = (selector.text or "").strip()
    options = {}
    for option in header.iter(_q("w", "Option")):
        options[option.get("Name", "")] = (option.text or "").strip()
    return Request(
        action=action,
        message_id=message_id,
        resource_uri=(header.findtext(_q("w", "ResourceURI")) or "").strip(),
        shell_id=shell_id,
        operation_timeout=_duration_seconds(header.findtext(_q("w", "OperationTimeout"))),
        options=options,
        body=body,
    )


def find(body: ET.Element, path: str) -> ET.Element | None:
    """body.find with prefixes from NS, e.g. find(body, 'rsp:CommandLine/rsp:Command')."""
    return body.find(path, NS)


def new_id() -> str:
    return str(uuid.uuid4()).upper()


def envelope(action: str, relates_to: str, body_xml: str) -> bytes:
    ns = " ".join('xmlns:%s="%s"' % (prefix, uri) for prefix, uri in NS.items())
    text = (
        '<s:Envelope xml:lang="en-US" %s><s:Header>'
        "<a:Action>%s</a:Action><a:MessageID>uuid:%s</a:MessageID>"
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        "<a:RelatesTo>%s</a:RelatesTo></s:Header><s:Body>%s</s:Body></s:Envelope>"
    ) % (ns, escape(action), new_id(), escape(relates_to), body_xml)
    return text.encode("utf-8")


def create_response(req: Request, endpoint: str, shell_id: str, owner: str, client_ip: str) -> bytes:
    body = (
        "<x:ResourceCreated><a:Address>%s</a:Address><a:ReferenceParameters>"
        "<w:ResourceURI>%s</w:ResourceURI><w:SelectorSet><w:Selector Name=\"ShellId\">%s</w:Selector></w:SelectorSet>"
        "</a:ReferenceParameters></x:ResourceCreated>"
        "<rsp:Shell><rsp:ShellId>%s</rsp:ShellId><rsp:ResourceUri>%s</rsp:ResourceUri><rsp:Owner>%s</rsp:Owner>"
        "<rsp:ClientIP>%s</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin</rsp:InputStreams>"
        "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime>"
        "<rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>"
    ) % (escape(endpoint), RESOURCE_CMD, shell_id, shell_id, RESOURCE_CMD, escape(owner), escape(client_ip))
    return envelope(TRANSFER + "CreateResponse", req.message_id, body)


def command_response(req: Request, command_id: str) -> bytes:
    body = "<rsp:CommandResponse><rsp:CommandId>%s</rsp:CommandId></rsp:CommandResponse>" % command_id
    return envelope(SHELL + "CommandResponse", req.message_id, body)


def send_response(req: Request) -> bytes:
    return envelope(SHELL + "SendResponse", req.message_id, "<rsp:SendResponse/>")


def signal_response(req: Request) -> bytes:
    return envelope(SHELL + "SignalResponse", req.message_id, "<rsp:SignalResponse/>")


def delete_response(req: Request) -> bytes:
    return envelope(TRANSFER + "DeleteResponse", req.message_id, "")


def receive_response(req: Request, command_id: str, stdout: bytes, stderr: bytes, exit_code: int | None) -> bytes:
    """One ReceiveResponse; exit_code None = still Running, else Done with that ExitCode."""
    cid = quoteattr(command_id)
    parts = ["<rsp:ReceiveResponse>"]
    for name, data in (("stdout", stdout), ("stderr", stderr)):
        if data:
            parts.append('<rsp:Stream Name="%s" CommandId=%s>%s</rsp:Stream>' % (name, cid, base64.b64encode(data).decode("ascii")))
    if exit_code is None:
        parts.append("<rsp:CommandState CommandId=%s State=\"%s\"/>" % (cid, STATE_RUNNING))
    else:
        parts.append('<rsp:Stream Name="stdout" CommandId=%s End="true"></rsp:Stream>' % cid)
        parts.append('<rsp:Stream Name="stderr" CommandId=%s End="true"></rsp:Stream>' % cid)
        parts.append(
            "<rsp:CommandState CommandId=%s State=\"%s\"><rsp:ExitCode>%d</rsp:ExitCode></rsp:CommandState>" % (cid, STATE_DONE, exit_code)
        )
    parts.append("</rsp:ReceiveResponse>")
    return envelope(SHELL + "ReceiveResponse", req.message_id, "".join(parts))


# --- faults (HTTP 500 bodies) ---------------------------------------------------------------

@dataclasses.dataclass
class Fault(Exception):
    """A SOAP fault to answer with HTTP 500."""

    code: str  # s:Sender / s:Receiver
    subcode: str  # w:TimedOut, w:InvalidSelectors, ...
    reason: str
    wsman_code: int | None = None
    detail_extra: str = ""
    wmi_error: int | None = None

    def body(self, relates_to: str, machine: str) -> bytes:
        detail = self.detail_extra
        if self.wsman_code is not None:
            detail += (
                '<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="%d" Machine=%s>'
                "<f:Message>%s</f:Message></f:WSManFault>" % (self.wsman_code, quoteattr(machine), escape(self.reason))
            )
        if self.wmi_error is not None:
            detail += (
                '<p:MSFT_WmiError xmlns:p="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_WmiError" '
                'xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                'xsi:type="p:MSFT_WmiError_Type"><p:MessageID xsi:type="cim:cimString">HRESULT 0x%x</p:MessageID>'
                '<p:error_Code xsi:type="cim:cimUnsignedInt">%d</p:error_Code></p:MSFT_WmiError>' % (self.wmi_error, self.wmi_error)
            )
        body = (
            "<s:Fault><s:Code><s:Value>%s</s:Value><s:Subcode><s:Value>%s</s:Value></s:Subcode></s:Code>"
            '<s:Reason><s:Text xml:lang="en-US">%s</s:Text></s:Reason><s:Detail>%s</s:Detail></s:Fault>'
        ) % (self.code, self.subcode, escape(self.reason), detail)
        return envelope(ACTION_FAULT, relates_to, body)


def timed_out() -> Fault:
    return Fault(
        "s:Receiver",
        "w:TimedOut",
        "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  ",
        wsman_code=2150858793,
    )


def invalid_selectors() -> Fault:
    return Fault(
        "s:Sender",
        "w:InvalidSelectors",
        "The WS-Management service cannot process the request because the request contained invalid selectors for the resource. ",
        wsman_code=2150858843,
        detail_extra="<w:FaultDetail>http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors</w:FaultDetail>",
    )


def schema_error(reason: str = "The SOAP XML in the message does not match the corresponding XML schema definition. ") -> Fault:
    return Fault("s:Sender", "w:SchemaValidationError", reason, wsman_code=2150858817)


def action_not_supported(action: str) -> Fault:
    return Fault(
        "s:Sender",
        "a:ActionNotSupported",
        "The action is not supported by the service. Action: %s " % action,
        wsman_code=2150858754,
    )


def internal_error() -> Fault:
    """What the `winrm-500` fault answers: the service failed internally (transient on real hosts)."""
    return Fault(
        "s:Receiver",
        "w:InternalError",
        "The WS-Management service cannot process the request. The service encountered an internal error. ",
        wsman_code=2147943418,
    )
