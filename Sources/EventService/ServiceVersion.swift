/// The release this build is: printed by `--version`, logged at start.
public enum ServiceVersion {
  public static let current = "0.9.0"
}
