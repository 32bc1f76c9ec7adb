import Testing

@testable import TwinslotCore

/// The edges of the image-spec's digest grammar and descriptor fields, which the install tests
/// (twinslotTests.OCISlotTests) reach only one at a time.
@Suite struct OCIDescriptorTests {
    static let hex64 = String(repeating: "0123456789abcdef", count: 4)

    @Test(
        arguments: [
            ("sha256:" + hex64, nil),
            ("sha512:" + hex64 + hex64, nil),
            ("sha256:" + hex64.uppercased(), "64 lowercase hex digits"),
            ("sha256:" + hex64.dropLast(), "64 lowercase hex digits"),
            ("sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564", "algorithm 'sha256+b64u' is not supported"),
            ("blake3:" + hex64, "algorithm 'blake3' is not supported"),
            ("sha256:../" + hex64, "does not match the image-spec's grammar"),
            ("sha256:" + hex64 + "/x", "does not match the image-spec's grammar"),
            ("SHA256:" + hex64, "does not match the image-spec's grammar"),
            ("sha256:", "does not match the image-spec's grammar"),
            (":" + hex64, "does not match the image-spec's grammar"),
            ("sha256", "does not match the image-spec's grammar"),
            ("sha256-:" + hex64, "does not match the image-spec's grammar"),
            ("sha256:" + hex64 + ":" + hex64, "does not match the image-spec's grammar"),
        ] as [(String, String?)])
    func digests(text: String, refusal: String?) {
        switch OCIDigest.parse(text) {
        case .success(let digest):
            #expect(refusal == nil, "\(text) was accepted")
            #expect(digest.text == text)
            #expect(digest.blobPath == "blobs/" + text.replacingOccurrences(of: ":", with: "/"))
        case .failure(let problem):
            #expect(refusal != nil && problem.reason.contains(refusal!), "\(text): \(problem.reason)")
        }
    }

    func descriptor(_ json: String) -> Result<OCIDescriptor, Refusal> {
        OCIDescriptor.parse(try! StrictJSON.parse(Array(json.utf8)))
    }

    @Test func descriptorFields() {
        let digest = "\"sha256:\(Self.hex64)\""
        let good = descriptor(#"{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":\#(digest),"size":7}"#)
        #expect((try? good.get())?.size == 7)
        let cases: [(String, String)] = [
            (#"{"digest":\#(digest),"size":7}"#, "no string 'mediaType'"),
            (#"{"mediaType":"text","digest":\#(digest),"size":7}"#, "not an RFC 6838 type/subtype"),
            (#"{"mediaType":"a/b; charset=x","digest":\#(digest),"size":7}"#, "not an RFC 6838 type/subtype"),
            (#"{"mediaType":"a/b","digest":\#(digest),"size":-1}"#, "size -1 is not an integer"),
            (#"{"mediaType":"a/b","digest":\#(digest),"size":7.0}"#, "size 7.0 is not an integer"),
            (#"{"mediaType":"a/b","digest":\#(digest),"size":9223372036854775808}"#, "is not an integer"),
            (#"{"mediaType":"a/b","digest":\#(digest),"size":"7"}"#, "no integer 'size'"),
            (#"{"mediaType":"a/b","digest":\#(digest),"size":7,"annotations":{"k":1}}"#, "object of strings"),
            (#"{"mediaType":"a/b","digest":\#(digest),"size":7,"urls":"http://x"}"#, "array of strings"),
            (#"{"mediaType":"a/b","digest":\#(digest),"size":7,"data":"!!"}"#, "base64"),
            (#"{"mediaType":"a/b","digest":\#(digest),"size":7,"platform":{"os":"linux"}}"#, "'architecture'"),
            (#"["a/b"]"#, "must be a JSON object"),
        ]
        for (json, reason) in cases {
            switch descriptor(json) {
            case .success: Issue.record("accepted: \(json)")
            case .failure(let refusal): #expect(refusal.reason.contains(reason), "\(json): \(refusal.reason)")
            }
        }
    }
}
