fn main() -> std::process::ExitCode {
    nongsan::cli::run()
}
