// The version `kgb --version` prints and /metrics reports (kgb_build_info).
enum KGBVersion {
    static let current = "0.4.0"
}
