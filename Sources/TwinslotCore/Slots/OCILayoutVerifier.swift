import SystemPackage

/// Checks that an OCI slot's extracted tree is an OCI image layout (image-layout.md) whose every
/// blob is what its name and its descriptors say, before the image is staged: a container
/// runtime that later reads the slot (`podman pull oci:…`, `skopeo copy oci:…`) must find every
/// image it names, intact. It runs after `DirectorySlotWriter` extracted and read back the tree,
/// and takes each blob's SHA-256 (or SHA-512) and size from what the writer hashed while writing
/// it: no blob is read again, only the JSON documents it parses (at most 4 MiB each).
///
/// The rules (docs/bundle-format.md, "OCI images"):
/// - `oci-layout` is a JSON object with `imageLayoutVersion` "1.0.0"; `blobs` is a directory;
///   `index.json` is an image index (schemaVersion 2, `mediaType` if present the index type);
/// - every descriptor reachable from `index.json` (nested indexes, manifests, their config and
///   layers) is well formed and names a blob `blobs/<alg>/<hex>` that is in the layout with the
///   descriptor's size and digest; a descriptor's `subject` is checked as a descriptor, and its
///   blob only when the layout holds it (a referrer's subject may live elsewhere);
/// - manifests parse (schemaVersion 2, a config descriptor and a layers array);
/// - blobs no descriptor reaches are allowed (what `umoci repack` leaves behind), but every file
///   under `blobs/` must be named by the digest of its content, in a directory of an algorithm
///   twinslot computes: a corrupted unreferenced blob is refused too.
/// JSON is read with `StrictJSON` (duplicate names refused). Other files of the layout (a
/// `docker save` `manifest.json`, a `refs/` directory) are left alone, as the spec asks.
struct OCILayoutVerifier {
    let storage: any Storage
    let slot: FilePath
    let member: String
    /// Every regular file the writer extracted, by its path relative to the slot.
    let files: [String: DirectorySlotWriter.ExtractedFile]
    /// The digests of the documents already parsed (a DAG may name one manifest many times).
    private var parsed: Set<String> = []

    /// A layout's JSON documents are small; a larger one is refused before it is read.
    static let documentLimit: UInt64 = 4 << 20
    /// Indexes nest at most this deep (each level is one more blob, and one more stack frame).
    static let nestingLimit = 8

    init(storage: any Storage, writer: DirectorySlotWriter, member: String) {
        self.storage = storage
        slot = writer.slot
        self.member = member
        files = Dictionary(writer.extracted.map { ($0.relative, $0) }, uniquingKeysWith: { $1 })
    }

    /// The files the writer hashes with SHA-512 as well: the blobs named by a SHA-512 digest.
    static func isSHA512Blob(_ relative: String) -> Bool { relative.hasPrefix("blobs/sha512/") }

    /// Checks the whole layout; the first problem found is thrown.
    mutating func verify() throws {
        let header = try parseDocument(try readTopFile("oci-layout"), at: "oci-layout")
        guard header.names != nil else { throw refuse("oci-layout", "must be a JSON object") }
        switch header["imageLayoutVersion"] {
        case .string("1.0.0")?: break
        case .string(let version)?:
            throw refuse(
                "oci-layout", "imageLayoutVersion is \(quoted(version)); twinslot reads layouts of version \"1.0.0\"")
        default: throw refuse("oci-layout", "has no string 'imageLayoutVersion' (\"1.0.0\")")
        }
        guard storage.fileKind(slot.appending("blobs")) == .directory else {
            throw refuse("blobs", "the layout must have a 'blobs' directory")
        }
        try verifyIndex(
            try readTopFile("index.json"), at: "index.json", mediaType: OCIDescriptor.imageIndex, depth: 0)
        try verifyBlobNames()
    }

    // MARK: Documents

    private mutating func verifyIndex(_ bytes: [UInt8], at location: String, mediaType: String, depth: Int) throws {
        let index = try parseDocument(bytes, at: location)
        try checkHeader(index, at: location, mediaType: mediaType)
        guard case .array(let manifests)? = index["manifests"] else {
            throw refuse(location, "an image index must have a 'manifests' array")
        }
        for (position, value) in manifests.enumerated() {
            let here = "\(location) manifests[\(position)]"
            let descriptor = try descriptor(value, at: here)
            try checkBlob(descriptor, at: here)
            try follow(descriptor, at: here, depth: depth)
        }
        try checkSubject(index["subject"], at: location)
    }

    private mutating func verifyManifest(_ bytes: [UInt8], at location: String, mediaType: String) throws {
        let manifest = try parseDocument(bytes, at: location)
        try checkHeader(manifest, at: location, mediaType: mediaType)
        guard let configValue = manifest["config"] else { throw refuse(location, "a manifest must have a 'config'") }
        let config = try descriptor(configValue, at: "\(location) config")
        try checkBlob(config, at: "\(location) config")
        guard case .array(let layers)? = manifest["layers"] else {
            throw refuse(location, "a manifest must have a 'layers' array")
        }
        for (position, value) in layers.enumerated() {
            let here = "\(location) layers[\(position)]"
            try checkBlob(try descriptor(value, at: here), at: here)
        }
        try checkSubject(manifest["subject"], at: location)
    }

    /// Reads on into the blob a descriptor names when it is an index or a manifest.
    private mutating func follow(_ descriptor: OCIDescriptor, at location: String, depth: Int) throws {
        let here = "\(location) → \(descriptor.digest.blobPath)"
        guard parsed.insert("\(descriptor.mediaType) \(descriptor.digest.text)").inserted else { return }
        switch descriptor.mediaType {
        case OCIDescriptor.imageIndex, OCIDescriptor.dockerManifestList:
            guard depth < Self.nestingLimit else {
                throw refuse(here, "image indexes nest deeper than \(Self.nestingLimit) levels")
            }
            try verifyIndex(
                try readBlob(descriptor, at: here), at: here, mediaType: descriptor.mediaType, depth: depth + 1)
        case OCIDescriptor.imageManifest, OCIDescriptor.dockerManifest:
            try verifyManifest(try readBlob(descriptor, at: here), at: here, mediaType: descriptor.mediaType)
        default:
            // An unknown type is no error (image-index.md): its blob was checked, it is not read.
            break
        }
    }

    /// `schemaVersion` 2, and a `mediaType`, where the document has one, that is the type its
    /// descriptor (or, for `index.json`, the spec) says it is.
    private func checkHeader(_ document: StrictJSON.Value, at location: String, mediaType: String) throws {
        guard document.names != nil else { throw refuse(location, "must be a JSON object") }
        guard case .number("2")? = document["schemaVersion"] else {
            throw refuse(location, "schemaVersion must be the integer 2")
        }
        if let declared = document["mediaType"] {
            guard case .string(mediaType) = declared else {
                throw refuse(location, "mediaType must be \(quoted(mediaType))")
            }
        }
        if let refusal = OCIDescriptor.checkAnnotations(document["annotations"]) {
            throw refuse(location, refusal.reason)
        }
    }

    /// A subject is a weak link to another manifest: a well-formed descriptor whose blob is
    /// checked when the layout holds it.
    private func checkSubject(_ value: StrictJSON.Value?, at location: String) throws {
        guard let value else { return }
        let subject = try descriptor(value, at: "\(location) subject")
        if files[subject.digest.blobPath] != nil { try checkBlob(subject, at: "\(location) subject") }
    }

    // MARK: Blobs

    /// The blob a descriptor names is in the layout, with the descriptor's size and digest (the
    /// hash the writer took while writing it), and its embedded `data`, if any, is the blob.
    private func checkBlob(_ descriptor: OCIDescriptor, at location: String) throws {
        let path = descriptor.digest.blobPath
        let here = "\(location) (\(path))"
        guard let file = files[path] else {
            let kind = storage.fileKind(slot.appending(path))
            throw refuse(here, kind == nil ? "the blob is not in the layout" : "the blob is not a regular file")
        }
        guard file.size == descriptor.size else {
            throw refuse(here, "the blob has \(file.size) bytes, the descriptor says \(descriptor.size)")
        }
        let actual = Self.digest(of: file, descriptor.digest.algorithm)
        guard actual == descriptor.digest.encoded else {
            throw refuse(
                here, "the blob's \(descriptor.digest.algorithm.rawValue) is \(actual), not the descriptor's digest")
        }
        if let data = descriptor.data {
            guard UInt64(data.count) == descriptor.size,
                DigestHasher.hex(descriptor.digest.algorithm, of: data) == descriptor.digest.encoded
            else { throw refuse(here, "the descriptor's embedded 'data' is not the blob") }
        }
    }

    /// Every file under `blobs/` is `blobs/<alg>/<encoded>` for an algorithm twinslot computes,
    /// and its content has that digest, whether or not a descriptor names it.
    private func verifyBlobNames() throws {
        let blobs = slot.appending("blobs")
        for name in try storage.directoryEntries(blobs) {
            let directory = "blobs/\(name)"
            guard let algorithm = DigestHasher.Algorithm(rawValue: name) else {
                throw refuse(directory, "not a digest algorithm twinslot verifies (sha256, sha512)")
            }
            guard storage.fileKind(blobs.appending(name)) == .directory else {
                throw refuse(directory, "must be a directory of blobs")
            }
            for blob in try storage.directoryEntries(blobs.appending(name)) {
                let path = "\(directory)/\(blob)"
                guard OCIDigest.isHex(blob, of: algorithm) else {
                    throw refuse(path, "a \(name) blob's name is \(algorithm.length * 2) lowercase hex digits")
                }
                guard let file = files[path] else { throw refuse(path, "a blob must be a regular file") }
                let actual = Self.digest(of: file, algorithm)
                guard actual == blob else {
                    throw refuse(path, "the blob's content has \(name) \(actual): a blob is named by its digest")
                }
            }
        }
    }

    private static func digest(of file: DirectorySlotWriter.ExtractedFile, _ algorithm: DigestHasher.Algorithm)
        -> String
    {
        // sha512 is taken for every file under blobs/sha512/ (`isSHA512Blob`), the only place
        // a SHA-512 is asked for.
        algorithm == .sha256 ? file.sha256 : file.sha512 ?? ""
    }

    // MARK: Reading

    /// `oci-layout` or `index.json`: a regular file of the layout, read whole.
    private func readTopFile(_ name: String) throws -> [UInt8] {
        guard let file = files[name] else {
            let kind = storage.fileKind(slot.appending(name))
            throw refuse(name, kind == nil ? "the layout has no '\(name)'" : "must be a regular file")
        }
        return try read(file, at: name)
    }

    /// A document's blob, read whole; its digest is checked again on the bytes that are parsed.
    private func readBlob(_ descriptor: OCIDescriptor, at location: String) throws -> [UInt8] {
        let file = files[descriptor.digest.blobPath]!  // checkBlob found it
        let bytes = try read(file, at: location)
        let actual = DigestHasher.hex(descriptor.digest.algorithm, of: bytes)
        guard actual == descriptor.digest.encoded else {
            // Read back intact a moment ago: the medium changed it since.
            throw SlotError.readBackMismatch(
                slot: file.path.string, expected: descriptor.digest.encoded, actual: actual)
        }
        return bytes
    }

    private func read(_ file: DirectorySlotWriter.ExtractedFile, at location: String) throws -> [UInt8] {
        guard file.size <= Self.documentLimit else {
            throw refuse(location, "a JSON document of \(file.size) bytes; at most \(Self.documentLimit) are read")
        }
        guard let bytes = try storage.readFile(file.path) else {
            throw StorageError("read", file.path, detail: "the file vanished after it was extracted")
        }
        return bytes
    }

    private func parseDocument(_ bytes: [UInt8], at location: String) throws -> StrictJSON.Value {
        do {
            return try StrictJSON.parse(bytes)
        } catch {
            throw refuse(location, "not valid JSON: \(error)")
        }
    }

    private func descriptor(_ value: StrictJSON.Value, at location: String) throws -> OCIDescriptor {
        switch OCIDescriptor.parse(value) {
        case .success(let descriptor): return descriptor
        case .failure(let refusal): throw refuse(location, refusal.reason)
        }
    }

    private func refuse(_ location: String, _ reason: String) -> OCILayoutError {
        OCILayoutError(member: member, location: location, reason: reason)
    }
}
