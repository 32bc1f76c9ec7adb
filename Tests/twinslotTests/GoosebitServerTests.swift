import Foundation
import TestSupport
import Testing

/// Proves the goosebit harness: a real DDI server on 127.0.0.1, a .swu from scripts/make-swu.sh,
/// a device that registers by polling, and the deployment the server then offers it.
@Suite struct GoosebitServerTests {
    /// One DDI request with curl; returns the HTTP status and the body.
    func ddi(_ method: String, _ url: String, json: String? = nil, output: String? = nil) throws -> (Int, Data) {
        var arguments = ["-sS", "--noproxy", "*", "-X", method, "-H", "Accept: application/hal+json, application/json"]
        if let json { arguments += ["-H", "Content-Type: application/json", "--data-binary", json] }
        if let output { arguments += ["-o", output] }
        arguments += ["-w", "\n%{http_code}", url]
        let result = try TestEnvironment.run("/usr/bin/curl", arguments)
        guard result.status == 0, let newline = result.stdout.lastIndex(of: "\n"),
            let status = Int(result.stdout[result.stdout.index(after: newline)...])
        else { throw TestSupportError("curl \(method) \(url) failed: \(result.stderr)") }
        return (status, Data(result.stdout[..<newline].utf8))
    }

    func object(_ data: Data) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TestSupportError("not a JSON object: \(String(decoding: data, as: UTF8.self))")
        }
        return object
    }

    func link(_ name: String, in reply: [String: Any]) -> String? {
        ((reply["_links"] as? [String: Any])?[name] as? [String: Any])?["href"] as? String
    }

    func sha1(_ path: String) throws -> String {
        let result = try TestEnvironment.run("/usr/bin/sha1sum", [path])
        return String(result.stdout.prefix(40))
    }

    @Test func offersAnUploadedSwuToARegisteredDevice() throws {
        #expect(GoosebitServer.isAvailable, "goosebit venv missing: run scripts/setup.sh")
        let server = try GoosebitServer()
        defer { try? server.stop() }
        #expect(server.url.hasPrefix("http://127.0.0.1:"))

        // A signed .swu for a hardware revision unique to this run.
        let work = TestEnvironment.temporaryDirectory("goosebit-swu")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let pki = try TestEnvironment.pki()
        var image = [UInt8](repeating: 0, count: 150_000)
        for i in image.indices { image[i] = UInt8(truncatingIfNeeded: (i &* 2_654_435_761) >> 13) }
        try #require(FileManager.default.createFile(atPath: work + "/rootfs.img", contents: Data(image)))
        let revision = "rev-" + UUID().uuidString.prefix(8).lowercased()
        let swu = work + "/update-2.0.0.swu"
        let made = try TestEnvironment.run(
            "/bin/bash",
            [
                TestEnvironment.repositoryRoot + "/scripts/make-swu.sh", swu,
                "--version", "2.0.0", "--hardware", revision, "--image", "rootfs=" + work + "/rootfs.img",
                "--cert", pki + "/signer.pem", "--key", pki + "/signer.key", "--chain", pki + "/signer-chain.pem",
            ])
        try #require(made.status == 0, "make-swu.sh failed: \(made.stderr)")
        let software = try server.upload(path: swu)

        // The device registers: the first poll asks for configData.
        let device = "twinslot-" + UUID().uuidString.prefix(8).lowercased()
        let base = server.ddiBase(device: device)
        let (pollStatus, pollBody) = try ddi("GET", base)
        #expect(pollStatus == 200)
        let firstPoll = try object(pollBody)
        let configData = try #require(link("configData", in: firstPoll), "first poll: \(firstPoll)")
        #expect(link("deploymentBase", in: firstPoll) == nil)
        let (configStatus, configBody) = try ddi(
            "PUT", configData,
            json:
                #"{"mode":"merge","data":{"hw_boardname":"default","hw_revision":"\#(revision)","sw_version":"1.0.0"}}"#
        )
        #expect(configStatus == 200, "configData: \(String(decoding: configBody, as: UTF8.self))")

        try server.assign(device: device, software: software)
        let state = try server.device(device)
        #expect(state.swVersion == "1.0.0")
        #expect(state.hardware?.model == "default")
        #expect(state.hardware?.revision == revision)
        #expect(state.assignedSoftware?.id == software)
        #expect(state.assignedSoftware?.version == "2.0.0")

        // Now the poll offers the deployment; it names the .swu with the right size and sha1.
        let (_, secondBody) = try ddi("GET", base)
        let secondPoll = try object(secondBody)
        let deploymentHref = try #require(link("deploymentBase", in: secondPoll), "second poll: \(secondPoll)")
        let (deploymentStatus, deploymentBody) = try ddi("GET", deploymentHref)
        #expect(deploymentStatus == 200)
        let deploymentBase = try object(deploymentBody)
        #expect(deploymentBase["id"] as? String == String(software))
        let deployment = try #require(deploymentBase["deployment"] as? [String: Any])
        let chunks = try #require(deployment["chunks"] as? [[String: Any]])
        try #require(chunks.count == 1)
        #expect(chunks[0]["version"] as? String == "2.0.0")
        let artifacts = try #require(chunks[0]["artifacts"] as? [[String: Any]])
        try #require(artifacts.count == 1)
        let artifact = artifacts[0]
        let size = try FileManager.default.attributesOfItem(atPath: swu)[.size] as? Int
        #expect(artifact["filename"] as? String == "update-2.0.0.swu")
        #expect(artifact["size"] as? Int == size)
        #expect((artifact["hashes"] as? [String: Any])?["sha1"] as? String == (try sha1(swu)))

        // The download link serves exactly the uploaded bytes.
        let download = try #require(link("download", in: artifact))
        #expect(download.hasPrefix(server.url + "/"))
        let (downloadStatus, _) = try ddi("GET", download, output: work + "/downloaded.swu")
        #expect(downloadStatus == 200)
        #expect(FileManager.default.contentsEqual(atPath: work + "/downloaded.swu", andPath: swu))

        // Feedback reaches the device log.
        let (feedbackStatus, _) = try ddi(
            "POST", deploymentHref + "/feedback",
            json: #"""
                {"id":"\#(software)","status":{"execution":"proceeding","result":{"finished":"none"},\#
                "details":["Downloaded 100%"]}}
                """#)
        #expect(feedbackStatus == 200)
        #expect(try server.log(device: device).contains("Downloaded 100%"))
        #expect(try server.device(device).lastState == "Running")

        // Stopping ends the server: nothing answers on its port any more.
        try server.stop()
        let after = try TestEnvironment.run(
            "/usr/bin/curl", ["-sS", "--noproxy", "*", "-m", "5", server.url + "/docs"])
        #expect(after.status != 0)
    }
}
