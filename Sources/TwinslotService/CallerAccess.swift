import SystemPackage
import TwinslotCore
import TwinslotFleet

#if canImport(Glibc)
    import Glibc
#endif

/// The user behind a bus call, as the bus daemon vouches for it.
struct Caller: Sendable, Equatable {
    var uid: uid_t
    var gid: gid_t

    /// The user's primary group from the user database; a user without an entry gets the
    /// overflow group (nogroup), never root's.
    static func primaryGroup(of uid: uid_t) -> gid_t {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        let found = getpwuid_r(uid, &entry, &buffer, buffer.count, &result)
        return found == 0 && result != nil ? entry.pw_gid : 65534
    }
}

/// Opens the bundle a caller names with that caller's permissions. The service runs as root and
/// its policy lets every user call Inspect (and RAUC's Info and InspectBundle): opened as root,
/// any local user could have the service read files they may not read themselves (and learn
/// from its answers whether they are bundles, and what their manifests say), make the device
/// fetch URLs with its network identity, or park a worker thread on a FIFO forever. So for
/// anyone but root, a path is opened as that user — the kernel checks every directory and the
/// file against them, with none of root's groups — it must be a regular file, and URLs are
/// refused. Root's calls open what they name, as the CLI does.
enum CallerAccess {
    static func openBundle(
        _ location: String, for identified: Result<Caller, BusFailure>, device: Device
    ) throws -> any ByteSource {
        let caller = try? identified.get()
        if caller?.uid == 0 { return try Records.openSource(location, device: device) }
        try Records.checkLocation(location)
        if HTTPByteSource.isHTTPURL(location) {
            throw ServiceError.accessDenied(
                "only root may have the service fetch a URL: download the bundle and pass its path")
        }
        guard let caller else {
            let reason = (try? identified.get()).map { _ in "" } ?? "\(identified)"
            throw ServiceError.accessDenied("the bus did not say who is calling (\(reason))")
        }
        let descriptor: FileDescriptor
        switch openAsUser(location, uid: caller.uid, gid: caller.gid) {
        case .success(let opened): descriptor = opened
        case .failure(let error) where error == .permissionDenied || error == .notPermitted:
            throw ServiceError.accessDenied("\(location): user \(caller.uid) may not read it (\(error))")
        case .failure(let error): throw BundleError.unreadable(path: location, reason: "\(error)")
        }
        let fd = descriptor.rawValue
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            try? descriptor.close()
            throw ServiceError.usage("\(location): not a regular file")
        }
        // Non-blocking was for the open only (a FIFO must not hang it).
        _ = fcntl(fd, F_SETFL, 0)
        return FileByteSource(descriptor: descriptor, name: location)
    }
}
