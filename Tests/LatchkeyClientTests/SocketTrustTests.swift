import LatchkeyClient
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The folder rules of SocketTrust on real folders (the tests run as root or as a user; the
/// other user's case needs a second account: Tests/e2e/test_local_attacks.py).
@Suite final class SocketTrustTests {
    let root: String

    init() throws {
        var template = Array("/tmp/latchkey-trust-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        root = try #require(made.map { String(cString: $0) })
    }

    deinit {
        // Each test's own folder goes with it (`rm -rf`, which does not follow the links made here).
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup("rm"), strdup("-rf"), strdup(root), nil]
        defer { argv.forEach { free($0) } }
        if posix_spawnp(&pid, "rm", nil, nil, &argv, environ) == 0 {
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    @Test func aPrivateFolderIsTrusted() {
        #expect(SocketTrust.problem(path: root + "/latchkey.sock", uid: getuid()) == nil)
    }

    @Test func aFolderOthersCanWriteIsNot() throws {
        let folder = root + "/open"
        #expect(mkdir(folder, 0o700) == 0 && chmod(folder, 0o777) == 0)
        let problem = try #require(SocketTrust.problem(path: folder + "/latchkey.sock", uid: getuid()))
        #expect(problem.contains(folder) && problem.contains("chmod go-w"))
    }

    @Test func aFolderOfAnotherUserIsNot() throws {
        // The same folder judged for another uid: it belongs to someone else.
        let problem = try #require(SocketTrust.problem(path: root + "/latchkey.sock", uid: getuid() &+ 4242))
        #expect(problem.contains(root) && problem.contains("belongs to"))
    }

    @Test func aMissingFolderIsLeftToTheDaemon() {
        #expect(SocketTrust.problem(path: root + "/not/yet/latchkey.sock", uid: getuid()) == nil)
    }

    @Test func theSocketFolderMayNotBeALink() throws {
        let target = root + "/target"
        #expect(mkdir(target, 0o700) == 0 && symlink(target, root + "/link") == 0)
        #expect(SocketTrust.problem(path: root + "/link/latchkey.sock", uid: getuid()) != nil)
        // A link higher up is followed and judged where it leads.
        #expect(mkdir(target + "/latchkey", 0o700) == 0)
        #expect(SocketTrust.problem(path: root + "/link/latchkey/latchkey.sock", uid: getuid()) == nil)
        #expect(chmod(target, 0o777) == 0)
        #expect(SocketTrust.problem(path: root + "/link/latchkey/latchkey.sock", uid: getuid()) != nil)
    }

    @Test func makeFoldersMakesPrivateOnes() {
        let folder = root + "/a/b"
        SocketTrust.makeFolders(folder)
        var info = stat()
        #expect(lstat(folder, &info) == 0 && info.st_mode & 0o777 == 0o700)
    }
}
