"""Setup → Ad Platforms and the OAuth redirect URI."""
