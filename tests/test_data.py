"""lec4_jax.tool.data: parsing and validating user data. Each bad input is one clear line."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lec4_jax.tool import data


def test_lecture_data():
    ds = data.lecture()
    np.testing.assert_array_equal(ds.x, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(ds.y, [2.0, 4.0, 6.0])


def test_parse_floats_accepts_strings_and_lists():
    assert data.parse_floats("1, 2.5,-3e2", "x_data") == [1.0, 2.5, -300.0]
    assert data.parse_floats(["1", "2"], "x_data") == [1.0, 2.0]


@pytest.mark.parametrize(
    "text, message",
    [("1,a", "^'a' is not a number"), ("1,nan", "^'nan' is not finite"),
     ("inf", "^'inf' is not finite"), ("", "^empty")],
)
def test_parse_floats_rejects(text, message):
    with pytest.raises(data.InputError, match=message) as e:
        data.parse_floats(text, "x_data")
    assert e.value.field == "x_data"  # the script turns it into --x_data


def test_from_lists_checks_lengths_and_emptiness():
    with pytest.raises(data.InputError, match="x has 2 values but y has 1"):
        data.from_lists([1.0, 2.0], [1.0])
    with pytest.raises(data.InputError, match="no samples"):
        data.from_lists([], [])


def write(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_load_csv_with_header_and_blank_lines(tmp_path):
    ds = data.load_csv(write(tmp_path, "x,y\n1,2\n\n 2 , 4\n3,6\n"))
    np.testing.assert_array_equal(ds.x, [1, 2, 3])
    np.testing.assert_array_equal(ds.y, [2, 4, 6])


def test_load_csv_without_header(tmp_path):
    assert data.load_csv(write(tmp_path, "0.5,1\n")).x.tolist() == [0.5]


@pytest.mark.parametrize(
    "text, message",
    [("", "no data rows"), ("x,y\n", "no data rows"),
     ("x,y\n1,2\n2,abc\n", r"d.csv:3: 'abc' is not a number"),
     ("1,2,3\n", r"d.csv:1: expected 2 columns \(x,y\), got 3"),
     ("1,2\n4\n", r"d.csv:2: expected 2 columns"), ("1,nan\n", r"d.csv:1: 'nan' is not finite")],
)
def test_load_csv_rejects_with_line_numbers(tmp_path, text, message):
    with pytest.raises(data.InputError, match=message):
        data.load_csv(write(tmp_path, text))


def test_load_csv_missing_file_and_directory(tmp_path):
    with pytest.raises(data.InputError, match="no such file"):
        data.load_csv(str(tmp_path / "missing.csv"))
    with pytest.raises(data.InputError, match="is a directory"):
        data.load_csv(str(tmp_path))


def test_every_error_message_is_one_line(tmp_path):
    with pytest.raises(data.InputError) as info:
        data.load_csv(write(tmp_path, "1,2\n\x00,3\n"))
    assert "\n" not in str(info.value)


def test_a_first_line_with_one_number_is_data_not_a_header(tmp_path):
    # only a line where neither cell is a number is a header; "1,abc" is a bad data line
    with pytest.raises(data.InputError, match=r"d.csv:1: 'abc' is not a number"):
        data.load_csv(write(tmp_path, "1,abc\n2,4\n"))
    with pytest.raises(data.InputError, match=r"d.csv:1: 'x' is not a number"):
        data.load_csv(write(tmp_path, "x,2\n2,4\n"))


def test_a_utf8_bom_before_data_is_allowed(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf1,2\n2,4\n")
    assert data.load_csv(str(path)).x.tolist() == [1.0, 2.0]


def test_csv_cells_are_checked_in_the_compute_dtype(tmp_path):
    path = write(tmp_path, "x,y\n1,2\n\n2,5e38\n")
    assert data.load_csv(path, np.float64).y.tolist() == [2.0, 5e38]
    with pytest.raises(data.InputError, match=r"d.csv:4: '5e38' is not finite in float32"):
        data.load_csv(path, np.float32)


cell = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.floats(-1e6, 1e6).map(lambda v: f" {v:.6g} "),
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(["1e-320", "4e38", "-0.0", "1_0", '"2.5"', "nan", "abc", "", "0x1p3"]),
)


@settings(max_examples=200)
@given(rows=st.lists(st.tuples(cell, cell), min_size=0, max_size=6),
       header=st.booleans(), blank=st.booleans(), bom=st.booleans())
def test_the_fast_reader_and_the_careful_one_agree(tmp_path_factory, rows, header, blank, bom):
    # the same values for the same text, or the same one-line error (from the careful parser)
    text = ("\ufeff" if bom else "") + ("x,y\n" if header else "") + ("\n" if blank else "")
    text += "".join(f"{a},{b}\n" for a, b in rows)
    path = tmp_path_factory.mktemp("csv") / "d.csv"
    path.write_text(text, encoding="utf-8")
    for dtype in (np.float32, np.float64):
        try:
            want = data.load_csv_careful(str(path), dtype)
        except data.InputError as e:
            with pytest.raises(data.InputError) as got:
                data.load_csv(str(path), dtype)
            assert str(got.value) == str(e)
            continue
        got = data.load_csv(str(path), dtype)
        np.testing.assert_array_equal(got.x, want.x)
        np.testing.assert_array_equal(got.y, want.y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_synthetic_data_are_drawn_in_the_compute_dtype_the_same_on_any_number_of_threads(
        dtype, monkeypatch):
    n = 2 * data.SYNTHETIC_BLOCK + 7  # three blocks, three streams
    many = data.synthetic(n, noise=0.3, seed=5, dtype=dtype)
    monkeypatch.setattr(data.os, "cpu_count", lambda: 1)
    one = data.synthetic(n, noise=0.3, seed=5, dtype=dtype)
    assert many.x.dtype == many.y.dtype == dtype
    np.testing.assert_array_equal(many.x, one.x)
    np.testing.assert_array_equal(many.y, one.y)
    # Block k is the k-th child stream of SeedSequence(seed), drawn as documented.
    rng = np.random.default_rng(np.random.SeedSequence(5).spawn(3)[2])
    x = rng.random(7, dtype=dtype) * 2 - 1
    np.testing.assert_array_equal(many.x[-7:], x)
    np.testing.assert_array_equal(
        many.y[-7:], rng.standard_normal(7, dtype=dtype) * dtype(0.3) + dtype(2.0) * x)
    assert np.all(np.abs(many.x) <= 1) and 0.2 < np.std(many.y - 2 * many.x) < 0.4
    assert many.x.__array_interface__["data"][0] % 64 == 0  # JAX uses it in place
    assert not np.array_equal(data.synthetic(100, seed=6, dtype=dtype).x,
                              data.synthetic(100, seed=5, dtype=dtype).x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_synthetic_data_without_noise_lie_on_the_line_exactly(dtype):
    # noise = 0 is allowed; each y is then 2x to the bit (0 * a normal draw adds nothing).
    d = data.synthetic(1000, noise=0.0, seed=1, dtype=dtype)
    np.testing.assert_array_equal(d.y, dtype(2) * d.x)
    assert np.unique(d.x).size > 990  # the x are still drawn


def test_a_file_that_cannot_be_read_or_decoded_is_one_line(tmp_path, monkeypatch):
    fifo_like = tmp_path / "x.csv"
    fifo_like.write_bytes(b"x,y\n1,\xff2\n")
    with pytest.raises(data.InputError, match=r"x.csv: cannot read: not UTF-8 text \(byte 6\)$"):
        data.decode(fifo_like.read_bytes(), str(fifo_like), "data_csv")
    import builtins

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(builtins, "open", refuse)
    with pytest.raises(data.InputError, match=r"x.csv: cannot read: Permission denied$") as e:
        data.read_bytes(str(fifo_like), "data_csv")
    assert e.value.field == "data_csv"


@pytest.mark.parametrize("kwargs, field, message", [
    ({"num_samples": 0}, "num_samples", "must be >= 1, got 0"),
    ({"num_samples": 3, "noise": -0.1}, "noise", "must be a finite number >= 0, got -0.1"),
    ({"num_samples": 3, "noise": float("nan")}, "noise", "must be a finite number >= 0, got nan"),
    ({"num_samples": 3, "seed": -1}, "seed", "must be >= 0, got -1"),
])
def test_synthetic_data_refuses_what_it_cannot_draw(kwargs, field, message):
    with pytest.raises(data.InputError, match=f"^{message}$") as e:
        data.synthetic(**kwargs)
    assert e.value.field == field


def test_a_plain_csv_takes_the_fast_parser_and_a_quoted_one_the_careful(tmp_path, monkeypatch):
    # The two parsers give the same numbers: a spy on the careful one tells which ran.
    careful = []
    real = data.parse_csv_careful
    monkeypatch.setattr(data, "parse_csv_careful", lambda *a: careful.append(1) or real(*a))
    for text, fast in (("x,y\n1,2\n3,4\n", True), ("\ufeffx,y\n1,2\n", True),
                       ("1,2\n3,4\n", True), ('x,y\n"1",2\n', True), ("x,y\n1,2,3\n", False)):
        path = tmp_path / "d.csv"
        path.write_text(text, encoding="utf-8")
        careful.clear()
        try:
            data.load_csv(path)
        except data.InputError:
            pass
        assert careful == ([] if fast else [1]), text
