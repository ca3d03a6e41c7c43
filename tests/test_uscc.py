import pytest
from hypothesis import given, strategies as st

from scheduler.library import uscc


@pytest.mark.parametrize("code", ["914403001922038216", "91110108551385082Q"])
def test_real_codes_are_valid(code):
    assert uscc.validate(code) == code


def test_full_width_is_normalised():
    assert uscc.validate("９１１１０１０８５５１３８５０８２ｑ") == "91110108551385082Q"


@pytest.mark.parametrize(
    "code, fragment",
    [
        ("91110108551385082A", "校验码错误"),
        ("9111010855138508", "长度"),
        ("91110108551385O82Q", "不允许的字符"),
        ("9111AB08551385082Q", "行政区划码"),
    ],
)
def test_invalid_codes_say_why(code, fragment):
    with pytest.raises(uscc.USCCError) as e:
        uscc.validate(code)
    assert fragment in e.value.reason


@given(st.text(alphabet=uscc.ALPHABET, min_size=8, max_size=8), st.sampled_from("123"))
def test_made_codes_validate_and_any_single_change_of_check_fails(body, cat):
    code = uscc.make("9", cat, "110117", body.replace("I", "1"))
    assert uscc.is_valid(code)
    for c in uscc.ALPHABET:
        if c != code[17]:
            assert not uscc.is_valid(code[:17] + c)
