fn main() {
    eprintln!("psctl: not yet implemented");
    std::process::exit(2);
}
