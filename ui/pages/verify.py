"""核验: recompute a draw from its verification package (auditor or public), in the browser."""

import io
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import streamlit as st

from scheduler.matching import package as matching_package
from scheduler.verify import verify_package

st.title("核验抽取结果")
st.caption("上传抽取核验包（ZIP 压缩包），或其中的 certificate.json 与 frame.csv（审计包另有 roster.csv、experts.csv、conflicts.csv、"
           "loads.csv、last.csv），系统仅凭这些文件重新计算抽签号、入选对象与检查组，不读取数据库。")

KIND_LABELS = {"auditor": "审计核验包", "public": "公开核验包", "unknown": "未知类型"}
MAX_FILE = 512 * 1024 * 1024


def _extract(data: bytes, dest: Path) -> list[str]:
    """Extract a zip's files flat into dest (names only: no paths, nothing outside dest)."""
    names = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            if info.is_dir():
                continue
            name = PurePosixPath(info.filename.replace("\\", "/")).name
            if not name or name.startswith(".") or info.file_size > MAX_FILE:
                continue
            (dest / name).write_bytes(z.read(info))
            names.append(name)
    return names


uploads = st.file_uploader("核验包文件", type=["zip", "json", "csv"], accept_multiple_files=True, key="verify_files")
if not uploads:
    st.info("请上传核验包。")
    st.stop()

with tempfile.TemporaryDirectory(prefix="dsr-verify-") as tmp:
    d = Path(tmp)
    received = []
    try:
        for up in uploads:
            data = up.getvalue()
            if up.name.lower().endswith(".zip"):
                received += _extract(data, d)
            else:
                name = PurePosixPath(up.name.replace("\\", "/")).name
                (d / name).write_bytes(data)
                received.append(name)
    except zipfile.BadZipFile:
        st.error("zip 文件已损坏或不是 zip 格式")
        st.stop()
    st.caption("已收到文件：" + "、".join(sorted(set(received))))
    with st.spinner("正在重新计算……"):
        report = verify_package(d)
    has_matching = b'"matching"' in (d / "certificate.json").read_bytes() if (d / "certificate.json").is_file() else False

unchecked = list(report.unchecked)
if report.kind == "public" and has_matching and matching_package.PUBLIC_UNCHECKED not in unchecked:
    unchecked.append(matching_package.PUBLIC_UNCHECKED)

st.markdown(f"**包类型：** {KIND_LABELS.get(report.kind, report.kind)}")
if report.ok:
    st.success("核验通过：由包内文件重新计算的结果与证书完全一致。")
else:
    st.error(f"核验未通过。第一处不一致：{report.first_difference}")
if report.checks:
    st.markdown("**已核验**" if report.ok else "**不一致之前已核验**")
    st.markdown("\n".join(f"- {c}" for c in report.checks))
if unchecked:
    st.markdown("**无法由本包核验**")
    st.warning("\n".join(f"- {c}" for c in unchecked))
