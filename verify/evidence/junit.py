"""JUnit XML from scenario records (what Zuul and Jenkins dashboards read).

Written with xml.etree because the records already hold everything; the
junitxml package would need a subunit round-trip for the same output.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from verify.redact import redact


def junit_xml(suite_name: str, scenarios: list[dict]) -> bytes:
    failures = sum(1 for s in scenarios if s["status"] == "fail")
    skipped = sum(1 for s in scenarios if s["status"] == "skipped")
    total_time = sum(s["duration_s"] for s in scenarios)
    suite = ET.Element("testsuite", name=suite_name, tests=str(len(scenarios)),
                       failures=str(failures), errors="0", skipped=str(skipped),
                       time=f"{total_time:.3f}")
    # redacted before escaping: a secret holding & or < would not match after
    for s in scenarios:
        reason = redact(s["reason"] or "")
        case = ET.SubElement(suite, "testcase", classname=s["capability"],
                             name=redact(s.get("test_id") or s["id"]),
                             time=f"{s['duration_s']:.3f}")
        if s["status"] == "fail":
            ET.SubElement(case, "failure", message=reason[:200]).text = reason
        elif s["status"] == "skipped":
            ET.SubElement(case, "skipped", message=reason)
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)
