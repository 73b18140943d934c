//! Command-line errors: DCMTK's messages and exit code 1.
//! Every expected message was checked against `/usr/bin/dcmrecv` 3.6.7.

use crate::{assert_error, dcmrecv};

/// C03, and DCMTK's idea of what an option is.
#[test]
fn unknown_options() {
    assert_error(&["--foo", "11112"], "Unknown option --foo");
    assert_error(&["11112", "--foo"], "Unknown option --foo");
    // No end-of-options marker.
    assert_error(&["--"], "Unknown option --");
    assert_error(&["-x", "11112"], "Unknown option -x");
    assert_error(&["+x", "11112"], "Unknown option +x");
    assert_error(&["--5"], "Unknown option --5");
    // `+` and `-` spellings are different options: `+ta` does not exist.
    assert_error(&["+ta", "5", "11112"], "Unknown option +ta");
    // Unknown options are reported before the parameter count.
    assert_error(&["1", "2", "--foo"], "Unknown option --foo");
}

#[test]
fn missing_values_and_parameters() {
    assert_error(&["-od"], "Missing value for option --output-directory");
    assert_error(
        &["1", "2", "-od"],
        "Missing value for option --output-directory",
    );
    assert_error(&["-xf", "a"], "Missing value for option --config-file");
    assert_error(
        &["+tls", "key.pem"],
        "Missing value for option --enable-tls",
    );
    assert_error(&["-v"], "Missing parameter port");
    // Values are consumed unconditionally: the port becomes the profile name.
    assert_error(&["-xf", "f.cfg", "11112"], "Missing parameter port");
    assert_error(&["1", "2"], "Too many parameters");
}

/// C04: ranges and DCMTK's lenient numbers.
#[test]
fn values_out_of_range() {
    assert_error(
        &["-pdu", "4095", "11112"],
        "Invalid value for option --max-pdu (underflow: 4095)",
    );
    assert_error(
        &["-pdu", "131073", "11112"],
        "Invalid value for option --max-pdu (overflow: 131073)",
    );
    assert_error(
        &["-ta", "0", "11112"],
        "Invalid value for option --acse-timeout (underflow: 0)",
    );
    assert_error(
        &["-td", "0", "11112"],
        "Invalid value for option --dimse-timeout (underflow: 0)",
    );
    assert_error(
        &["-td", "-3", "11112"],
        "Invalid value for option --dimse-timeout (-3)",
    );
    assert_error(
        &["-pdu", "abc", "11112"],
        "Invalid value for option --max-pdu (abc)",
    );
    assert_error(&["-pdu", "", "11112"], "Invalid value for option --max-pdu");
    assert_error(&["0"], "Invalid parameter value 0 (underflow)");
    assert_error(&["70000"], "Invalid parameter value 70000 (overflow)");
    assert_error(&["abc"], "Invalid parameter value abc");
    assert_error(&["-5"], "Invalid parameter value -5 (overflow)");
    assert_error(&["0x2B67"], "Invalid parameter value 0x2B67 (underflow)");
    // Lenient parsing: leading digits count.
    assert!(crate::config(&["011188"]).contains("port: 11188,"));
    assert!(crate::config(&["1e3"]).contains("port: 1,"));
}

/// C06 and the other option dependencies.
#[test]
fn dependencies_and_conflicts() {
    assert_error(
        &["+v", "11112"],
        "--verbose-pc only allowed with verbose mode",
    );
    assert_error(
        &["-v", "-ll", "debug", "11112"],
        "--log-level not allowed with --verbose, --debug or --quiet",
    );
    assert_error(
        &["-ll", "foo", "11112"],
        "Invalid log level for --log-level option",
    );
    assert_error(
        &["+ps", "11112"],
        "--std-passwd only allowed with --enable-tls",
    );
    assert_error(
        &["+pa", "11112"],
        "--profile-basic only allowed with --enable-tls",
    );
    assert_error(
        &["+tls", "k", "c", "+ws", "11112"],
        "--write-seed only allowed with --seed",
    );
    assert_error(
        &["+tls", "k", "c", "+pz", "+cs", "x", "11112"],
        "--cipher not allowed with --profile-bcp195-ex",
    );
}

/// DCMTK's order decides which of several problems is reported.
#[test]
fn the_first_problem_in_dcmtk_order_is_reported() {
    assert_error(
        &["0", "-pdu", "4095"],
        "Invalid value for option --max-pdu (underflow: 4095)",
    );
    assert_error(&["0", "+ps"], "Invalid parameter value 0 (underflow)");
    assert_error(&["0", "+v"], "--verbose-pc only allowed with verbose mode");
    assert_error(
        &["0", "-ll", "foo"],
        "Invalid log level for --log-level option",
    );
}

/// `-q` (or any level that hides errors) silences semantic errors; syntax errors and the
/// logging options' own errors are still printed.
#[test]
fn quiet_mode_hides_semantic_errors_only() {
    for args in [
        &["-q", "0"][..],
        &["-q", "-pdu", "1", "11112"],
        &["-q", "+v", "11112"],
        &["-ll", "fatal", "-pdu", "1", "11112"],
        &["-ll", "off", "0"],
        &["-v", "-q", "0"],
    ] {
        let run = dcmrecv(args);
        assert_eq!(
            (run.code, run.stderr.as_str(), run.stdout.as_str()),
            (1, "", ""),
            "{args:?}"
        );
    }
    assert_error(&["-q", "--foo"], "Unknown option --foo");
    assert_error(&["-q", "1", "2"], "Too many parameters");
    assert_error(
        &["-q", "-ll", "info", "11112"],
        "--log-level not allowed with --verbose, --debug or --quiet",
    );
    // Only the rightmost of -q/-v/-d counts.
    assert_error(&["-q", "-v", "0"], "Invalid parameter value 0 (underflow)");
}

/// The deliberate difference: DCMTK refuses `+B` with `+ssd`, we store such files.
#[test]
fn bit_preserving_with_series_date_subdirectories_is_accepted() {
    // The command line is accepted; start-up then stops at the (missing) output directory.
    let run = dcmrecv(&["+B", "+ssd", "-od", crate::MISSING, "11112"]);
    assert_eq!(run.code, 45, "{run:?}");
    assert!(!run.stderr.contains("error:"), "{}", run.stderr);
}
