"""Every function of include/imapmail.h is bound by the package, with the header's types, and
called by its public code: a new export cannot be forgotten."""

from __future__ import annotations

import ctypes
import os
import re
from typing import Dict, List, Tuple

import imapmail
from imapmail import _native

HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "include", "imapmail.h")
PACKAGE = os.path.dirname(os.path.abspath(imapmail.__file__))

# C type (as written in the header, without const) -> the ctypes types that read it correctly.
_SCALARS = {
    "void": [None],
    "int32_t": [ctypes.c_int32],
    "intptr_t": [ctypes.c_ssize_t],
    "int64_t": [ctypes.c_int64],
    "uint16_t": [ctypes.c_uint16],
    "uint32_t": [ctypes.c_uint32],
    "uint64_t": [ctypes.c_uint64],
    "size_t": [ctypes.c_size_t],
    "char*": [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char)],
    "uint8_t*": [ctypes.POINTER(ctypes.c_uint8)],
    "uint16_t*": [ctypes.POINTER(ctypes.c_uint16)],
    "uint32_t*": [ctypes.POINTER(ctypes.c_uint32)],
    "uint64_t*": [ctypes.POINTER(ctypes.c_uint64)],
    "size_t*": [ctypes.POINTER(ctypes.c_size_t)],
    "EmailProgressCallback": [_native.PROGRESS_CALLBACK],
    "EmailTraceCallback": [_native.TRACE_CALLBACK],
    "void*": [ctypes.c_void_p],
}


def header_functions() -> Dict[str, Tuple[str, List[str]]]:
    """name -> (return type, [argument types]) of every function the header declares."""
    with open(HEADER, encoding="utf-8") as f:
        src = f.read()
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    src = re.sub(r"//[^\n]*", " ", src)
    src = re.sub(r"^\s*#[^\n]*", " ", src, flags=re.M)
    src = re.sub(r"typedef[^;]*;", " ", src)
    found = {}
    for ret, name, args in re.findall(r"([A-Za-z_][\w\s*]*?)\b(email_\w+)\s*\(([^;{)]*)\)\s*;", src):
        arg_types = [] if args.strip() in ("", "void") else [_c_type(a, named=True) for a in args.split(",")]
        found[name] = (_c_type(ret, named=False), arg_types)
    return found


def _c_type(decl: str, named: bool) -> str:
    """A declaration's type, normalised: no const, no parameter name, '*' glued on."""
    words = decl.replace("*", " * ").split()
    words = [w for w in words if w not in ("const", "extern")]
    if named:
        words = words[:-1]  # the parameter's name
    stars = words.count("*")
    base = " ".join(w for w in words if w != "*")
    return base + "*" * stars


def _accepted(c_type: str) -> list:
    if c_type in _SCALARS:
        return _SCALARS[c_type]
    if c_type.startswith("Email") and c_type.endswith("**"):  # out-parameter for a handle
        return [ctypes.POINTER(ctypes.c_void_p)]
    if c_type.startswith("Email") and c_type.endswith("*"):  # an opaque handle
        return [ctypes.c_void_p]
    raise AssertionError(f"the coverage test does not know the C type {c_type!r}: add it to _SCALARS")


def test_header_parses() -> None:
    functions = header_functions()
    # The parser found the functions (the header has well over 100).
    assert len(functions) >= 100, sorted(functions)
    assert functions["email_append"] == (
        _native_status_type(functions), ["EmailSession*", "char*", "uint8_t*", "size_t", "uint32_t", "int64_t", "uint32_t*"])


def _native_status_type(functions: Dict[str, Tuple[str, List[str]]]) -> str:
    return functions["email_close_session"][0]


def test_every_header_function_has_a_prototype() -> None:
    missing = sorted(set(header_functions()) - set(_native.PROTOTYPES))
    assert missing == [], f"functions of imapmail.h without a prototype in imapmail/_native.py: {missing}"
    extra = sorted(set(_native.PROTOTYPES) - set(header_functions()))
    assert extra == [], f"prototypes of functions imapmail.h does not declare: {extra}"


def test_prototypes_match_the_header_types() -> None:
    wrong = []
    for name, (ret, args) in header_functions().items():
        restype, argtypes = _native.PROTOTYPES[name]
        if restype not in _accepted(ret):
            wrong.append(f"{name}: returns {ret}, bound as {restype}")
        if len(argtypes) != len(args):
            wrong.append(f"{name}: {len(args)} arguments, bound with {len(argtypes)}")
            continue
        for i, (c, py) in enumerate(zip(args, argtypes)):
            if py not in _accepted(c):
                wrong.append(f"{name}: argument {i} is {c}, bound as {py}")
    assert wrong == [], "prototypes that differ from imapmail.h:\n" + "\n".join(wrong)


def test_signed_results_are_pointer_sized() -> None:
    # imapmail.h: every signed integer result is an intptr_t, but the timestamp.
    functions = header_functions()
    signed = sorted(n for n, (r, _) in functions.items() if r.startswith("int"))
    assert [n for n in signed if functions[n][0] != "intptr_t"] == ["email_message_timestamp"]
    assert "email_read_first" in signed and "email_count" in signed and "email_message_is_read" in signed
    for name in signed:
        if name != "email_message_timestamp":
            assert _native.PROTOTYPES[name][0] is ctypes.c_ssize_t, name
    assert ctypes.sizeof(ctypes.c_ssize_t) == ctypes.sizeof(ctypes.c_void_p)


def test_every_function_is_called_by_the_package() -> None:
    sources = []
    for fname in sorted(os.listdir(PACKAGE)):
        if fname.endswith(".py") and fname != "_native.py":
            with open(os.path.join(PACKAGE, fname), encoding="utf-8") as f:
                sources.append(f.read())
    code = "\n".join(sources)
    unused = [n for n in header_functions() if not re.search(r"[.\"']" + n + r"\b", code)]
    assert unused == [], f"exports no public API of the package reaches: {unused}"


def test_the_loaded_library_has_every_function() -> None:
    lib = _native.lib()
    for name in header_functions():
        assert hasattr(lib, name), name
