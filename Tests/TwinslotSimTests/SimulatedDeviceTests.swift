import Testing

@testable import TwinslotSim
