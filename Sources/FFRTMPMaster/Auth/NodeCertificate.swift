import Hummingbird
import NIOCore
import NIOSSL
import SwiftASN1
import X509

/// The names a client certificate gives its holder: the subject's common names and the DNS
/// names of its subjectAltName. Under mutual TLS (--tls-client-ca) a node key is accepted only
/// with a certificate that names its node (`NodeCertificate.check`), so a stolen key alone, or
/// one node's certificate with another node's key, acts for nobody.
public struct NodeCertificate: Equatable, Sendable {
    public var commonNames: [String]
    public var dnsNames: [String]

    public init(commonNames: [String], dnsNames: [String]) {
        self.commonNames = commonNames
        self.dnsNames = dnsNames
    }

    /// Parses a DER certificate (what NIOSSL hands out) with swift-certificates. A SAN extension
    /// that cannot be parsed is an error, not an absent SAN: the certificate then names nobody.
    public init(der: [UInt8]) throws {
        let cert = try Certificate(derEncoded: der)
        var cns: [String] = []
        for rdn in cert.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                // A CN that is not a printable, UTF-8 or IA5 string cannot equal a node id.
                if let cn = String(attribute.value) { cns.append(cn) }
            }
        }
        var dns: [String] = []
        for name in try cert.extensions.subjectAlternativeNames ?? SubjectAlternativeNames() {
            if case .dnsName(let d) = name { dns.append(d) }
        }
        self.init(commonNames: cns, dnsNames: dns)
    }

    /// True when a CN or a SAN DNS name is exactly `node` (node ids are case-sensitive).
    public func names(_ node: String) -> Bool { commonNames.contains(node) || dnsNames.contains(node) }

    /// `"node-b" (CN, SAN DNS), "b.example" (SAN DNS)`, or what is missing.
    public var summary: String {
        var order: [String] = []
        var sources: [String: [String]] = [:]
        for (name, source) in commonNames.map({ ($0, "CN") }) + dnsNames.map({ ($0, "SAN DNS") }) {
            if sources[name] == nil { order.append(name) }
            sources[name, default: []].append(source)
        }
        guard !order.isEmpty else { return "no name (no CN, no SAN DNS name)" }
        return order.map { "\"\($0)\" (\(sources[$0]!.joined(separator: ", ")))" }.joined(separator: ", ")
    }

    /// The one guard of the node-key binding: `certificate` (nil: none on the connection) must
    /// name `node`, the node whose key was presented; otherwise 403 naming both.
    public static func check(node: String, certificate: () async throws -> [UInt8]?) async throws {
        let need = "a node key is accepted only with its node's client certificate (CN or SAN DNS name \"\(node)\")"
        guard let der = try await certificate() else {
            throw HTTPError(.forbidden, message: "no client certificate on this connection, but the key is node \"\(node)\"'s: \(need)")
        }
        let names: NodeCertificate
        do {
            names = try NodeCertificate(der: der)
        } catch {
            throw HTTPError(.forbidden, message: "the client certificate could not be read (\(error)), and the key is node \"\(node)\"'s: \(need)")
        }
        guard names.names(node) else {
            throw HTTPError(.forbidden, message: "client certificate names \(names.summary) but the key is node \"\(node)\"'s: \(need)")
        }
    }
}

extension Channel {
    /// The TLS peer's certificate as DER, or nil when the connection has no TLS handler (plain
    /// http) or the peer sent none. Asked on the channel's event loop: NIOSSLHandler's
    /// `peerCertificate` may only be read there.
    func peerCertificateDER() async throws -> [UInt8]? {
        let cert: NIOSSLCertificate?
        do {
            cert = try await nioSSL_peerCertificate().get()
        } catch ChannelPipelineError.notFound {
            return nil
        }
        return try cert?.toDERBytes()
    }
}
