//! The interpreter with a recording [`Output`]: cells, actions' validation, parameters.

use std::sync::{Arc, Mutex};

use serde_json::json;

use super::*;

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<(String, String)>>,
}

impl Output for Recorder {
    fn stream(&self, name: StreamName, text: &str) {
        self.events
            .lock()
            .unwrap()
            .push((name.as_str().into(), text.into()));
    }
    fn display(&self, data: MimeBundle) {
        self.events
            .lock()
            .unwrap()
            .push(("display".into(), serde_json::to_string(&data).unwrap()));
    }
    fn clear_output(&self, _wait: bool) {
        self.events.lock().unwrap().push(("clear".into(), String::new()));
    }
    fn input(&self, _prompt: &str, _password: bool) -> Result<String, String> {
        Err("no stdin in tests".into())
    }
}

fn interp() -> RhaiInterpreter {
    RhaiInterpreter::new(Arc::new(Executor::new().unwrap()), &Limits::default())
}

fn run(i: &mut RhaiInterpreter, code: &str) -> (Outcome, Vec<(String, String)>) {
    let rec = Arc::new(Recorder::default());
    let outcome = i.execute(code, rec.clone());
    let events = rec.events.lock().unwrap().clone();
    (outcome, events)
}

fn plain(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Ok { result: Some(b) } => b["text/plain"].as_str().unwrap().to_string(),
        other => panic!("expected a result, got {other:?}"),
    }
}

fn error(outcome: &Outcome) -> &CellFailure {
    match outcome {
        Outcome::Error(f) => f,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn print_goes_to_stdout_and_debug_to_stderr_in_order() {
    let mut i = interp();
    let (_, events) = run(&mut i, r#"print("a"); debug(1); print("b");"#);
    assert_eq!(
        events,
        vec![
            ("stdout".into(), "a\n".into()),
            ("stderr".into(), "1\n".into()),
            ("stdout".into(), "b\n".into())
        ]
    );
}

#[test]
fn variables_functions_and_constants_persist() {
    let mut i = interp();
    run(&mut i, "let x = 2; const K = 3; fn triple(v) { v * 3 }");
    assert_eq!(plain(&run(&mut i, "triple(x) + K").0), "9");
    assert_eq!(error(&run(&mut i, "K = 4").0).ename, "RhaiError");
}

#[test]
fn functions_defined_before_a_failure_survive_it() {
    let mut i = interp();
    let (o, _) = run(&mut i, "fn ok() { 1 } throw \"stop\";");
    assert_eq!(error(&o).ename, "RuntimeError");
    assert_eq!(plain(&run(&mut i, "ok()").0), "1");
}

#[test]
fn unit_results_show_nothing() {
    let mut i = interp();
    assert_eq!(run(&mut i, "let a = 1;").0, Outcome::Ok { result: None });
}

#[test]
fn action_cell_with_unknown_input_calls_nothing_and_evaluates_nothing() {
    let mut i = interp();
    run(&mut i, "let calls = 0; fn bump() { calls += 1; calls }");
    let (o, _) = run(
        &mut i,
        "%%action aws.iam.create_user -> u\nuser_name: bump()\nusername: \"x\"",
    );
    assert!(error(&o).evalue.contains("has no input `username`"), "{:?}", o);
    assert_eq!(plain(&run(&mut i, "calls").0), "0");
    assert_eq!(run(&mut i, "u").0.clone(), run(&mut i, "u").0);
    assert_eq!(error(&run(&mut i, "u").0).ename, "RhaiError");
}

#[test]
fn action_input_expression_errors_name_the_input_and_line() {
    let mut i = interp();
    let (o, _) = run(&mut i, "%%action aws.iam.create_user -> u\nuser_name: nope + 1");
    let f = error(&o);
    assert!(f.evalue.starts_with("input `user_name`:"), "{}", f.evalue);
    assert!(f.evalue.contains("line 2"), "{}", f.evalue);
    assert!(
        f.traceback.iter().any(|l| l.contains("user_name: nope + 1")),
        "{:?}",
        f.traceback
    );
}

#[test]
fn rhai_action_functions_validate_through_the_same_executor() {
    let mut i = interp();
    let (o, _) = run(&mut i, "iam::create_user(#{ user_name: 7 })");
    assert!(
        error(&o)
            .evalue
            .contains("input `user_name` of `aws.iam.create_user` must be a string"),
        "{:?}",
        o
    );
}

#[test]
fn parameters_define_defaults_and_required_ones_block_later_cells() {
    let mut i = interp();
    let decl = "%%parameters\nuser_name: #{ type: \"string\" }\npolicy: #{ type: \"string\", value: \"IAMUserChangePassword\" }";
    assert_eq!(run(&mut i, decl).0, Outcome::Ok { result: None });
    let (o, _) = run(&mut i, "policy");
    assert_eq!(error(&o).ename, "ParameterError");
    assert!(error(&o).evalue.contains("required parameter `user_name`"));
    run(&mut i, "%%values\nuser_name: \"alice\"");
    assert_eq!(
        plain(&run(&mut i, "user_name + \"/\" + policy").0),
        "\"alice/IAMUserChangePassword\""
    );
}

#[test]
fn values_are_json_data_and_type_checked() {
    let mut i = interp();
    run(
        &mut i,
        "%%parameters\nn: #{ type: \"int\", value: 1 }\nname: #{ type: \"string\", value: \"x\" }",
    );
    let (o, _) = run(&mut i, "%%values\nn: \"3\"");
    assert!(
        error(&o).evalue.contains("parameter `n` must be a int"),
        "{:?}",
        o
    );
    let (o, _) = run(&mut i, "%%values\nname: x + 1");
    assert!(error(&o).evalue.contains("is not a JSON value"), "{:?}", o);
    run(&mut i, "%%values\nname: \"\\\"; throw \\\"owned\\\"; \\\"\"");
    assert_eq!(plain(&run(&mut i, "name").0), r#""\"; throw \"owned\"; \"""#);
}

#[test]
fn secret_parameters_are_masked_until_revealed() {
    let mut i = interp();
    run(
        &mut i,
        "%%parameters\ntoken: #{ type: \"string\", secret: true, value: \"hunter2\" }",
    );
    let (o, events) = run(&mut i, "print(token); token");
    assert_eq!(plain(&o), MASK);
    assert_eq!(events, vec![("stdout".into(), format!("{MASK}\n"))]);
    assert_eq!(plain(&run(&mut i, "reveal(token)").0), "\"hunter2\"");
}

#[test]
fn interrupt_flag_stops_a_loop() {
    let mut i = interp();
    let flag = i.interrupt_flag();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let (o, _) = run(&mut i, "loop {}");
    stopper.join().unwrap();
    assert_eq!(error(&o).ename, "Interrupted");
}

#[test]
fn display_and_clear_output_publish() {
    let mut i = interp();
    let (_, events) = run(&mut i, "display(#{ a: 1 }); clear_output();");
    assert_eq!(events[0].0, "display");
    assert!(events[0].1.contains("application/json"));
    assert_eq!(events[1].0, "clear");
}

#[test]
fn unknown_magic_is_a_clear_error() {
    let mut i = interp();
    let (o, _) = run(&mut i, "%%sql\nselect 1");
    assert_eq!(error(&o).ename, "CellSyntaxError");
    assert!(error(&o).evalue.contains("%%action, %%parameters, %%values"));
    let _ = json!(null);
}

#[test]
fn help_cells_page_docs_for_actions_functions_and_variables() {
    let mut i = interp();
    let (o, events) = run(&mut i, "?aws.iam.create_user");
    assert_eq!(o, Outcome::Ok { result: None });
    // The recorder has no pager, so the default shows the page inline.
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "display");
    assert!(events[0].1.contains("Needs: iam:CreateUser"), "{}", events[0].1);
    run(&mut i, "let who = secret(\"hunter2\");");
    let (_, events) = run(&mut i, "who?");
    assert!(events[0].1.contains("who: secret"), "{}", events[0].1);
    assert!(!events[0].1.contains("hunter2"));
    assert_eq!(i.is_complete("who?"), Completeness::Complete);
}

#[test]
fn one_line_magics_without_a_body_are_complete() {
    let mut i = interp();
    assert_eq!(i.is_complete("%%plan"), Completeness::Complete);
    assert_eq!(i.is_complete("%%plan on"), Completeness::Complete);
    assert_eq!(
        i.is_complete("%%action aws.sts.get_caller_identity -> caller"),
        Completeness::Complete
    );
    // An action with required inputs waits for them (and an empty line).
    assert!(matches!(
        i.is_complete("%%action aws.iam.create_user -> u"),
        Completeness::Incomplete { .. }
    ));
    assert_eq!(
        i.is_complete("%%action aws.iam.create_user -> u\nuser_name: \"a\"\n"),
        Completeness::Complete
    );
}

#[test]
fn deeply_nested_values_are_cut_when_shown() {
    let mut i = interp();
    let (o, _) = run(&mut i, "let a = []; for n in 0..300 { a = [a]; } a");
    let Outcome::Ok { result: Some(data) } = o else {
        panic!("{o:?}")
    };
    let text = serde_json::to_string(&data["application/json"]).unwrap();
    assert!(text.contains("nested more than 100 levels deep"), "{text}");
    assert!(text.matches('[').count() <= 102);
}

#[test]
fn exit_asks_the_frontend_to_end_unless_it_names_a_variable() {
    let mut i = interp();
    let (o, _) = run(&mut i, "exit");
    assert_eq!(o, Outcome::Ok { result: None });
    run(&mut i, "let quit = 7;");
    assert_eq!(plain(&run(&mut i, "quit").0), "7");
}
