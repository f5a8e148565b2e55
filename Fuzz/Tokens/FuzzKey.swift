/// A throwaway RSA key for the token fuzz target only: the seed tokens in Fuzz/corpus/Tokens are
/// signed with it, so fuzzed tokens reach the claim checks. It protects nothing; never use it
/// anywhere else.
enum FuzzKey {
    static let pem = """
        -----BEGIN PRIVATE KEY-----
        MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCqB+kAaYFhMpg0
        gZ/VJDXVumtcGH/vd68c2/cRKx+ayT9D1uA6MEHwZKFOgVSHvZEuC6QuY9y/L8RY
        BxHxXtA8/OG+grOCzuIgURFQ0CsJCGqGOdd6/R+M1T5riGaw/mh1+Zf3f/fkbC5T
        S562OwyoHEzF5uZdnhzahL7D0bSIXURyHb339HblQVACH9BEuALtfpLZOOsNN1oM
        RJYptrEVJxDML4HeUewrbvQmrXqbyS3aoSklKYFTmMfdhAw87STaRtNeK9OOYS23
        2mVqu+/VGT3zULXJFEiTkVBfprI4A5hkhgBJiZk8VbGjCKYOplaEmubYkmNLWIUD
        GeONuUudAgMBAAECggEACNcYjlk1DSDwH7T2uAl+3tSZJ5gmRyE6fUOTKb+9ZU9v
        pSDN8yFvS1UWSbNY69CwZmS/jczK0qaPE9sGP4TrLjM9r3CIGOQHhvVjnc6EC589
        HpyqRJIBFYrrM4Kg1m2GcE4LNApTZjQ1eX+Hn43Gu/adJ+kp5HlkFFH7iHQQeAMj
        PLEBjn1w4mTddbubpCNCtwFS0hwGIE3qBZXhYRwKnnXGkHyEL8/yPhkNiVrUzCEo
        85+/CG75QAG4Do01nMJvuZjKrQe84qxMKFY5UJQyYXUE7TMi/3MD8y8gNJTNx8Hk
        18Oh+EpCpciWppPyM8pyeacE9ZhSpwyvl2iOPMO4ZwKBgQDXQWsoZ5hf9jcPdiXG
        Oc/749XB1356eLFHgU2n5PoxKCyu61et0SjP9CSdJa6xUX2QdQOTTwWSaF/P+Fxw
        x9JLk7Mt1qG2xumL/bAhn7bz+GXhyI3JA0KL0Rzut5erz3rkYOIoOdqTv/mqjN0Y
        PGKG0M7M/zQK2cEjjKsuf45dcwKBgQDKNw2Mjo1201xSm7/EnaLMEbut01R4MZ13
        xwn915s7o9Z2unDj5nMqC4rDR06J7KooHxPwHzVzNHGswakSB11Ax0hw5aBh7Vcj
        SvN9y92sLa/Jm52f0MqkEGnzZQ7X6ypDuCO4T8+5h4UBBIlM5yxlfTLL41kcBedF
        ktqwQ8BurwKBgHI0eDkotZR8WnwukB4awDmBiQDeZ3FtJYmtldj1SLTZ/tMTdCJ5
        bXDftKlXu9bCSJ9jJfF7JJaoH+WEfO8tZWrJw3AXhxclc/XdNByy02ufp9ZiBK/Y
        te7elL4m1CbI3wfaS0NSZqCrYzhUol1gdFnY4U+sOx1iqPFGifASpyL3AoGBAMIK
        og3GnSjxGR6MJjDds2JvgdEDgYL02U4eyQ+03VkVlq7HqZyHfutRuA47VrozR/TI
        HbHFwNyT7qEAFOUf+/Q1RuZO8uAFiCBtw8lq34RhMtYbZd391PYqagENcHjxSNVC
        1cP/ki1ORer8F2ScUJXy1dOgjdm+MHcqvH94BCgxAoGAJMVHBBeMmmQf7o0H8tfI
        QIhHVGhbj0xKkYsRAeB9sHyZZl3uDneWin/hdNBYcBQDnp8ZXzmr9tctU+7/7jGH
        11TsgNW7ncMImmxqVpMrmSSuOwNsJu6v5XF+Xf8hgC1EXr8X2B6LUYPI3AMocadz
        eJBy9mkelI/2ztvcklBC3Vs=
        -----END PRIVATE KEY-----
        """
}
