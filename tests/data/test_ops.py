"""groklab.data.ops: every table against an independent brute force, and the one-line errors."""

import numpy as np
import pytest
import torch

from groklab.data import OPS, P_MAX, P_MIN, PAPER_OPS, check_op_p, make_table
from groklab.errors import SpecError

PRIMES = (7, 11, 13, 97)

# Written from the formulas of `groklab ops` with plain Python ints: None marks an undefined pair.
BRUTE = {
    "add": lambda x, y, p: (x + y) % p,
    "sub": lambda x, y, p: (x - y) % p,
    "mul": lambda x, y, p: (x * y) % p,
    "div": lambda x, y, p: None if y == 0 else x * pow(y, -1, p) % p,
    "div_or_sub": lambda x, y, p: x * pow(y, -1, p) % p if y % 2 == 1 else (x - y) % p,
    "sq_sum": lambda x, y, p: (x**2 + y**2) % p,
    "quad": lambda x, y, p: (x**2 + x * y + y**2) % p,
    "quad_x": lambda x, y, p: (x**2 + x * y + y**2 + x) % p,
    "cubic_xy": lambda x, y, p: (x**3 + x * y) % p,
    "cubic_xy2_y": lambda x, y, p: (x**3 + x * y**2 + y) % p,
    "sq_plus": lambda x, y, p: (x**2 + y) % p,
    "cube_plus": lambda x, y, p: (x**3 + y) % p,
    "add_or_mul": lambda x, y, p: (x + y) % p if x % 2 == 0 else (x * y) % p,
    "add_or_sub": lambda x, y, p: (x + y) % p if x % 2 == 0 else (x - y) % p,
}


def rows(table):
    return list(zip(table.x.tolist(), table.y.tolist(), table.targets.tolist(), strict=True))


def brute_rows(op, p):
    z = ((x, y, BRUTE[op](x, y, p)) for x in range(p) for y in range(p))
    return [row for row in z if row[2] is not None]


@pytest.mark.parametrize("p", PRIMES)
@pytest.mark.parametrize("op", sorted(BRUTE))
def test_modular_table_equals_brute_force_in_value_domain_and_order(op, p):
    table = make_table(op, p)
    assert rows(table) == brute_rows(op, p)  # same pairs, same answers, sorted by (x, y)
    assert table.op == op and table.p == p and table.n_classes == p


@pytest.mark.parametrize("op", ["add", "sub", "mul", "quad", "add_or_mul"])
def test_ops_without_prime_need_work_for_composite_p(op):
    assert rows(make_table(op, 12)) == brute_rows(op, 12)


def test_div_leaves_out_y_zero_and_inverts_multiplication_for_p_13():
    table = make_table("div", 13)
    assert table.n_examples == 13 * 12
    assert 0 not in table.y.tolist()
    assert torch.equal(table.targets * table.y % 13, table.x)


def test_div_or_sub_keeps_y_zero_as_the_even_branch_x_minus_0():
    table = make_table("div_or_sub", 11)
    assert table.n_examples == 11 * 11
    at_zero = table.y == 0
    assert torch.equal(table.targets[at_zero], table.x[at_zero])


def test_largest_p_has_no_int64_overflow():
    table = make_table("cubic_xy2_y", P_MAX)
    assert table.n_examples == P_MAX**2
    picks = np.random.default_rng(0).choice(table.n_examples, 500).tolist() + [-1]
    for i in picks:
        x, y = int(table.x[i]), int(table.y[i])
        assert int(table.targets[i]) == (x**3 + x * y**2 + y) % P_MAX


def test_registry_holds_design_ops_then_openai_extras_in_order():
    design = ["add", "sub", "mul", "div", "div_or_sub", "sq_sum", "quad", "quad_x", "cubic_xy"]
    design += ["cubic_xy2_y", "s5_mul", "s5_conj", "s5_xyx"]
    assert list(OPS) == design + ["sq_plus", "cube_plus", "add_or_mul", "add_or_sub"]
    assert tuple(name for name in design if name != "mul") == PAPER_OPS
    assert len(PAPER_OPS) == 12
    assert all(OPS[name].name == name and OPS[name].formula for name in OPS)
    assert {name for name in OPS if OPS[name].needs_prime} == {"div", "div_or_sub"}
    assert {name for name in OPS if OPS[name].is_group} == {"s5_mul", "s5_conj", "s5_xyx"}
    assert "y != 0" in OPS["div"].domain


def test_inputs_are_x_op_y_equals_tokens():
    table = make_table("sub", 7)
    assert table.d_vocab == 9
    assert table.inputs.shape == (49, 4) and table.inputs.dtype == torch.int64
    assert table.inputs[7 * 3 + 5].tolist() == [3, 7, 5, 8]
    assert torch.equal(table.inputs[:, 0], table.x) and torch.equal(table.inputs[:, 2], table.y)


def test_s5_table_ignores_p_and_has_120_classes():
    table = make_table("s5_mul", 97)
    assert (table.n_classes, table.n_examples, table.d_vocab) == (120, 14400, 122)
    assert torch.equal(table.targets, make_table("s5_mul", 5).targets)


def test_numpy_integer_p_is_accepted():
    assert make_table("add", np.int64(7)).p == 7


def spec_error(op, p) -> str:
    with pytest.raises(SpecError) as info:
        check_op_p(op, p)
    with pytest.raises(SpecError):
        make_table(op, p)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_unknown_op_error_is_one_line_and_lists_choices():
    message = spec_error("pow", 7)
    assert "'pow'" in message
    assert all(name in message for name in OPS)


@pytest.mark.parametrize("p", [1, 0, -7, 2000, P_MAX + 1])
def test_p_out_of_range_error_names_p_and_bounds(p):
    message = spec_error("add", p)
    assert f"p={p}" in message and str(P_MIN) in message and str(P_MAX) in message


@pytest.mark.parametrize("op", ["div", "div_or_sub"])
def test_composite_p_for_division_error_names_p_op_and_prime(op):
    message = spec_error(op, 12)
    assert "12" in message and op in message and "a prime" in message


@pytest.mark.parametrize("p", [7.0, "7", True, None])
def test_non_integer_p_error_is_one_line(p):
    assert "integer" in spec_error("add", p)


def test_bounds_are_accepted():
    check_op_p("add", P_MIN)
    check_op_p("div", 2)
    check_op_p("div", 1021)
    check_op_p("add", P_MAX)
