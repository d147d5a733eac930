"""The public jupyter_kernel_test suite against the installed `runbook` kernel."""

import unittest

import jupyter_kernel_test


class RunbookKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "runbook"
    language_name = "rhai"
    file_extension = ".rhai"

    code_hello_world = 'print("hello, world")'
    code_stderr = 'debug("oops")'

    completion_samples = [
        {"text": "iam::create_u", "matches": {"iam::create_user"}},
        {"text": "let zebra_count = 1; zebra_c", "matches": {"zebra_count"}},
    ]
    complete_code_samples = ["1 + 1", "let x = 2;", "fn f(a) { a * 2 }", "%%action aws.sts.get_caller_identity -> me\n\n"]
    incomplete_code_samples = ["fn f(a) {", "let m = #{ a: 1,", 'let s = "unterminated', "if true {\n  print(1);"]
    invalid_code_samples = ["let = 5;", "1 +* 2", "let x = ;"]

    code_generate_error = 'throw "this cell fails"'
    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": '"runbook" + "!"', "result": '"runbook!"'},
        {"code": "#{ user: \"alice\" }", "mime": "application/json", "result": {"user": "alice"}},
        {"code": "[#{ a: 1 }, #{ a: 2 }]", "mime": "text/html"},
    ]
    code_display_data = [
        {"code": "display(#{ a: 1 })", "mime": "application/json"},
        {"code": 'display_html("<b>bold</b>")', "mime": "text/html"},
        {"code": 'display_markdown("# title")', "mime": "text/markdown"},
    ]
    code_clear_output = "clear_output()"

    code_history_pattern = "1 + ?"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "aws.iam.create_user"
    code_page_something = "?aws.iam.create_user"


class CompletionCursorTests(unittest.TestCase):
    """Cursor positions are code points, not bytes: a multi-byte character before the
    cursor must not shift the reported range."""

    @classmethod
    def setUpClass(cls):
        from jupyter_client.manager import start_new_kernel
        cls.km, cls.kc = start_new_kernel(kernel_name="runbook")

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=True)

    def test_cursor_positions_are_code_points(self):
        code = 'let café = "é"; iam::create_u'
        reply = self.kc.complete(code, len(code), reply=True, timeout=10)["content"]
        self.assertEqual(reply["matches"], ["iam::create_user"])
        self.assertEqual(reply["cursor_end"], len(code))
        self.assertEqual(reply["cursor_start"], len(code) - len("iam::create_u"))

    def test_action_names_complete_after_action_magic(self):
        code = "%%action aws.iam.att"
        reply = self.kc.complete(code, len(code), reply=True, timeout=10)["content"]
        self.assertEqual(reply["matches"], ["aws.iam.attach_user_policy"])

    def test_input_names_complete_in_action_cells(self):
        code = "%%action aws.iam.create_login_profile -> p\npass"
        reply = self.kc.complete(code, len(code), reply=True, timeout=10)["content"]
        self.assertEqual(reply["matches"], ["password: ", "password_reset_required: "])

    def test_help_pages_the_action_docs_and_unknown_names_fail(self):
        reply = self.kc.execute_interactive("aws.iam.attach_user_policy?", timeout=10)["content"]
        self.assertEqual(reply["status"], "ok")
        [page] = reply["payload"]
        self.assertEqual(page["source"], "page")
        text = page["data"]["text/plain"]
        self.assertTrue(text.startswith("aws.iam.attach_user_policy\n"), text)
        self.assertIn("iam:AttachUserPolicy", text)
        reply = self.kc.execute_interactive("?no_such_thing", timeout=10)["content"]
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["payload"], [])
        self.assertIn("no help for `no_such_thing`", reply["evalue"])

    def test_inspect_variable_shows_type_and_masks_secrets(self):
        self.kc.execute_interactive('let token = secret("hunter2");', timeout=10)
        reply = self.kc.inspect("token", 2, reply=True, timeout=10)["content"]
        self.assertTrue(reply["found"])
        self.assertIn("token: secret", reply["data"]["text/plain"])
        self.assertNotIn("hunter2", reply["data"]["text/plain"])
