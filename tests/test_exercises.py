"""The exercises: every one passes with the library's own code pasted in, and fails, naming
the wrong quantity, with a deliberately wrong solution; start, check, solution and list
through the command."""

import inspect
import subprocess
import sys

import pytest

from scratchrnn import cli, exercises
from scratchrnn.exercises import BY_NAME, EXERCISES, GAP

# name -> (a line of the library's code, the wrong line, the quantity that must be named)
WRONG = {
    "simple_rnn_step_backward": (
        "act.backward(dh, cache.h, activation)", "act.backward(dh, cache.h_prev, activation)",
        "da"),
    "simple_rnn_backward": (
        "recurrent_kernel_gradient(cache.h_prev, da,", "recurrent_kernel_gradient(cache.h, da,",
        "drecurrent_kernel"),
    "lstm_step_backward": (
        "dc = dc + act.backward(dh * o, cache.act_c, activation)", "dc = dc", "dc_prev"),
    "gru_step_backward_reset_after": ("du = da_h * r", "du = da_h", "dzh_h"),
    "gru_step_backward_reset_before": ("dr = du * h_in", "dr = du * cache.h_prev", "dzx_r"),
    "lstm_backward_masked": ("dc = keep(m, dc_prev, dc)", "dc = dc_prev", "dc0"),
    "recurrent_projection_backward": (
        "dh += (dz[:, c] @ recurrent_kernel[:, c].T) * m",
        "dh += dz[:, c] @ recurrent_kernel[:, c].T", "dh"),
    "input_projection_backward": (
        "dkernel[:, cols] = xd.T @ dz2[:, cols]",
        "dkernel[:, cols] = x.reshape(T * B, I).T @ dz2[:, cols]", "dkernel"),
    "additive_attention_backward": ("du = dt * (1 - t * t)", "du = dt", "d_query"),
    "sparse_crossentropy": (
        "return np.where((y_pred >= eps) & (y_pred <= high), dlogits / q, 0)",
        "return dlogits", "dy_pred"),
    "adam_update": (
        "variable -= (m * alpha) / (np.sqrt(v) + dt(self.epsilon))",
        "variable -= (m * alpha) / np.sqrt(v + dt(self.epsilon))", "variable"),
    "temperature": (
        "e = np.exp((scores - scores.max(axis=-1, keepdims=True)) / temperature)",
        "e = np.exp(scores / temperature)", "probs_cold"),
    "top_p": ("np.where(before < top_p, ranked, 0.0)",
              "np.where(before + ranked <= top_p, ranked, 0.0)", "kept_tiny"),
    "pad_sequences": (
        'kept = s[max(len(s) - maxlen, 0):] if truncating == "pre" else s[:maxlen]',
        "kept = s[:maxlen]", "default"),
    "windows": ("framed[:, :window_size], framed[:, window_size:]",
                "framed[:, :window_size], framed[:, window_size]", "Y"),
}


def write(tmp_path, name, body=None):
    """Start ``name`` in ``tmp_path``; with ``body``, paste it over the gap (as a student
    replaces the function)."""
    path = exercises.start(name, str(tmp_path))
    if body is not None:
        text = open(path, encoding="utf-8").read()
        fn = BY_NAME[name].function_name
        start = text.index(f"def {fn}(")
        end = text.index(GAP, start) + len(GAP) + 1
        with open(path, "w", encoding="utf-8") as f:
            f.write(text[:start] + body + text[end:])
    return path


def test_at_least_twelve_exercises_in_groups_each_with_a_wrong_variant():
    assert len(EXERCISES) >= 12
    assert set(WRONG) == set(BY_NAME)
    assert all(e.difficulty in ("easy", "medium", "hard") for e in EXERCISES)
    groups = [e.group for e in EXERCISES]
    assert groups == sorted(groups, key=groups.index), "a group's exercises must be together"
    assert EXERCISES[0].name == "simple_rnn_step_backward"


@pytest.mark.parametrize("name", list(BY_NAME))
def test_the_library_code_pasted_in_passes(tmp_path, name):
    exercise = BY_NAME[name]
    result = exercises.check(write(tmp_path, name, exercise.solution()), print_fn=None)
    assert result.ok, result.table()
    if exercise.gradient:   # the finite differences ran too, and agree with the library
        assert any(row.numerical is not None for row in result.rows)


@pytest.mark.parametrize("name", list(BY_NAME))
def test_a_wrong_solution_fails_naming_the_wrong_quantity(tmp_path, name):
    exercise = BY_NAME[name]
    right, wrong, quantity = WRONG[name]
    solution = exercise.solution()
    assert solution.count(right) == 1, f"the library's {name} changed: update WRONG"
    result = exercises.check(write(tmp_path, name, solution.replace(right, wrong)),
                             print_fn=None)
    assert not result.ok
    named = [row.quantity for row in result.wrong]
    assert quantity in named, result.table()
    table = result.table()
    assert f"{quantity}: " + exercise.hints[quantity][:30] in " ".join(table.split())


def test_the_lstm_hint_names_the_missing_path(tmp_path):
    right, wrong, _ = WRONG["lstm_step_backward"]
    solution = BY_NAME["lstm_step_backward"].solution().replace(right, wrong)
    table = exercises.check(write(tmp_path, "lstm_step_backward", solution),
                            print_fn=None).table()
    assert "WRONG" in table and "dc_prev misses the path through h" in " ".join(table.split())


def test_start_copies_the_library_source(tmp_path):
    exercise = BY_NAME["lstm_step_backward"]
    text = open(write(tmp_path, "lstm_step_backward"), encoding="utf-8").read()
    assert inspect.getdoc(exercise.reference).splitlines()[0] in text
    assert 'EXERCISE = "lstm_step_backward"' in text
    assert "def lstm_step_forward(" in text               # the context
    assert text.count(GAP) == 1
    assert "act.backward(dh * o" not in text.split("# --- hints")[0]   # the body is gone
    compile(text, "lstm_step_backward.py", "exec")


def test_a_method_exercise_is_written_as_a_function(tmp_path):
    text = open(write(tmp_path, "adam_update"), encoding="utf-8").read()
    assert "\ndef _update_step(self, index, gradient, variable, learning_rate" in text


def test_check_reports_the_gap_and_exceptions(tmp_path, capsys):
    path = write(tmp_path, "temperature")
    assert cli.main(["exercise", "check", path]) == 1
    assert "not implemented yet" in capsys.readouterr().out
    body = "def _tempered(scores, temperature):\n    return scores[0, 0, 0]\n"
    path = write(tmp_path / "b", "temperature", body)
    assert cli.main(["exercise", "check", path]) == 1
    out = capsys.readouterr().out
    assert "IndexError" in out and "raised an exception" in out


def test_list_start_solution_through_main(tmp_path, capsys):
    assert cli.main(["exercise", "list"]) == 0
    out = capsys.readouterr().out
    assert all(e.name in out for e in EXERCISES) and "hard" in out
    assert cli.main(["exercise", "start", "windows", "--dir", str(tmp_path)]) == 0
    assert (tmp_path / "windows.py").exists()
    with pytest.raises(SystemExit):       # never overwrite a student's work silently
        cli.main(["exercise", "start", "windows", "--dir", str(tmp_path)])
    assert cli.main(["exercise", "solution", "windows"]) == 0
    assert "def windows(series, window_size" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["exercise", "solution", "no_such_exercise"])


def test_the_command_exits_0_right_and_1_wrong(tmp_path):
    exercise = BY_NAME["simple_rnn_step_backward"]
    right, wrong, _ = WRONG[exercise.name]
    good = write(tmp_path / "good", exercise.name, exercise.solution())
    bad = write(tmp_path / "bad", exercise.name, exercise.solution().replace(right, wrong))
    run = [sys.executable, "-m", "scratchrnn.cli", "exercise", "check"]
    ok = subprocess.run(run + [good], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "all 2 quantities OK" in ok.stdout
    failed = subprocess.run(run + [bad], capture_output=True, text=True)
    assert failed.returncode == 1
    assert "WRONG" in failed.stdout and "da: " in failed.stdout
